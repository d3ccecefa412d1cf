import { randomBytes } from 'node:crypto';
import { createServer } from 'nice-grpc';
import { HealthDefinition, HealthServiceImpl, HealthState } from 'nice-grpc-server-health';
import { pino, type Logger } from 'pino';
import { AgentServiceDefinition } from '../gen/machinehub/agent/v1/agent.js';
import { MachineServiceDefinition } from '../gen/machinehub/machine/v1/machine.js';
import { TaskServiceDefinition } from '../gen/machinehub/task/v1/task.js';
import { AgentHub } from './control/AgentHub.js';
import { ControlPlane } from './control/ControlPlane.js';
import { DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_LOST_TIMEOUT_MS, DEFAULT_MAX_HEARTBEATS_PER_SECOND } from './control/lease.js';
import { agentService } from './grpc/agentService.js';
import { errorMiddleware } from './grpc/errorMiddleware.js';
import { machineService } from './grpc/machineService.js';
import { addReflection } from './grpc/reflection.js';
import { taskService } from './grpc/taskService.js';
import { DEFAULT_LISTEN, DEFAULT_MAX_MESSAGE_BYTES, type ServerOptions } from './options.js';
import { Scheduler } from './scheduler/index.js';
import { openStore } from './store/openStore.js';

/** A started server. */
export interface RunningServer {
  /** host:port it listens on, with the real port when 0 was requested. */
  address: string;
  plane: ControlPlane;
  hub: AgentHub;
  logger: Logger;
  /** Stops taking calls, ends agent streams, commits state; bounded to a few seconds. */
  close(): Promise<void>;
}

/** Longest a graceful shutdown waits for open calls before it cuts them. */
const SHUTDOWN_TIMEOUT_MS = 5_000;

/** Starts a machinehub server: state, scheduler, agent link and the gRPC services. */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const logger = pino(
    { level: options.logLevel ?? 'info', base: { component: 'server' } },
    pino.destination({ dest: options.logDestination ?? 1, sync: false }),
  );
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  const settings = {
    heartbeatIntervalMs,
    leaseTimeoutMs: options.leaseTimeoutMs ?? 3 * heartbeatIntervalMs,
    lostTimeoutMs: options.lostTimeoutMs ?? DEFAULT_LOST_TIMEOUT_MS,
    maxHeartbeatsPerSecond: DEFAULT_MAX_HEARTBEATS_PER_SECOND,
  };
  const serverId = randomBytes(6).toString('hex');

  const store = await openStore(options, logger);
  const scheduler = new Scheduler({ defaultPolicy: options.defaultPolicy ?? 'fgd' });
  const plane = new ControlPlane({
    scheduler,
    store,
    logger: logger.child({ component: 'control' }),
    maxMessageBytes,
    cancelGraceMs: options.cancelGraceMs ?? 10_000,
  });
  const state = await store.load();
  plane.restore(state.machines, state.tasks);
  const hub = new AgentHub(plane, settings, serverId, logger.child({ component: 'agents' }));
  const startMs = Date.now();
  hub.restore(startMs + (options.startupGraceMs ?? settings.lostTimeoutMs) - settings.lostTimeoutMs);

  const server = createServer({
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': maxMessageBytes,
    'grpc.keepalive_time_ms': options.keepaliveTimeMs ?? 10_000,
    'grpc.keepalive_timeout_ms': options.keepaliveTimeoutMs ?? 5_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 1_000,
  }).use(errorMiddleware(logger));
  server.add(TaskServiceDefinition, taskService(plane));
  server.add(MachineServiceDefinition, machineService(plane));
  server.add(AgentServiceDefinition, agentService(plane, hub, logger.child({ component: 'link' })));
  const health = HealthState();
  server.add(HealthDefinition, HealthServiceImpl(health));
  addReflection(server, [
    TaskServiceDefinition.fullName,
    MachineServiceDefinition.fullName,
    AgentServiceDefinition.fullName,
    'grpc.health.v1.Health',
  ]);

  const listen = options.listen ?? DEFAULT_LISTEN;
  const port = await server.listen(listen);
  const host = listen.slice(0, listen.lastIndexOf(':'));
  const address = `${host}:${port}`;
  for (const name of [TaskServiceDefinition.fullName, MachineServiceDefinition.fullName, AgentServiceDefinition.fullName, '']) {
    health.setStatus('healthy', name);
  }

  const sweepMs = Math.max(50, Math.min(1_000, Math.floor(heartbeatIntervalMs / 2)));
  const sweeper = setInterval(() => {
    try {
      hub.sweep(Date.now());
    } catch (error) {
      logger.error({ err: error }, 'lease sweep failed');
    }
  }, sweepMs);
  logger.info(
    { address, serverId, tasks: state.tasks.length, machines: state.machines.length, ...settings },
    'server started',
  );

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      clearInterval(sweeper);
      for (const name of [TaskServiceDefinition.fullName, MachineServiceDefinition.fullName, AgentServiceDefinition.fullName, '']) {
        health.setStatus('unhealthy', name);
      }
      hub.closeAll('server shutting down');
      const timer = setTimeout(() => server.forceShutdown(), SHUTDOWN_TIMEOUT_MS);
      await server.shutdown();
      clearTimeout(timer);
      await store.flush();
      await store.close();
      logger.info({ address, serverId }, 'server stopped');
      logger.flush();
    })();
    return closing;
  };
  return { address, plane, hub, logger, close };
}
