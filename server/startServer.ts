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
import { leaderGate } from './grpc/leaderGate.js';
import { withDecodeFailures } from './grpc/decodeFailures.js';
import { SoleLeadership } from './ha/Leadership.js';

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

/** Services whose health follows leadership; '' is the whole server. */
const SERVICE_NAMES = [TaskServiceDefinition.fullName, MachineServiceDefinition.fullName, AgentServiceDefinition.fullName, ''];

/** Maximum time a graceful shutdown waits for open calls before it cuts them. */
const SHUTDOWN_TIMEOUT_MS = 5_000;

/** Starts a machinehub server: state, scheduler, agent link and the gRPC services. */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const logger = pino(
    { level: options.logLevel ?? 'info', base: { pid: process.pid } },
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

  const { store, leadership } = await openStore(options, logger);
  const scheduler = new Scheduler({ defaultPolicy: options.defaultPolicy ?? 'fgd' });
  const plane = new ControlPlane({
    scheduler,
    store,
    logger: logger.child({ component: 'control' }),
    maxMessageBytes,
    cancelGraceMs: options.cancelGraceMs ?? 10_000,
  });
  const hub = new AgentHub(plane, settings, serverId, logger.child({ component: 'agents' }));

  // Opens once this replica leads and has restored its state.
  let serving = false;
  const server = createServer({
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': maxMessageBytes,
    'grpc.keepalive_time_ms': options.keepaliveTimeMs ?? 10_000,
    'grpc.keepalive_timeout_ms': options.keepaliveTimeoutMs ?? 5_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 1_000,
  })
    .use(errorMiddleware(logger.child({ component: 'rpc' })))
    .use(leaderGate(leadership, () => serving));
  server.add(withDecodeFailures(TaskServiceDefinition), taskService(plane, maxMessageBytes));
  server.add(withDecodeFailures(MachineServiceDefinition), machineService(plane));
  server.add(withDecodeFailures(AgentServiceDefinition), agentService(plane, hub, logger.child({ component: 'link' })));
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
  for (const name of SERVICE_NAMES) health.setStatus('unhealthy', name);

  const sweepMs = Math.max(50, Math.min(1_000, Math.floor(heartbeatIntervalMs / 2)));
  let sweeper: NodeJS.Timeout | undefined;
  const stopped = new AbortController();

  // State is loaded only once this replica leads, so a follower that takes
  // over starts from what the old leader committed.
  const lead = async () => {
    await leadership.acquired(stopped.signal, options.advertiseAddress ?? address);
    const state = await store.load();
    plane.restore(state.machines, state.tasks);
    hub.restore(Date.now() + (options.startupGraceMs ?? settings.lostTimeoutMs) - settings.lostTimeoutMs);
    sweeper = setInterval(() => {
      try {
        hub.sweep(Date.now());
      } catch (error) {
        logger.error({ err: error }, 'lease sweep failed');
      }
    }, sweepMs);
    for (const name of SERVICE_NAMES) health.setStatus('healthy', name);
    serving = true;
    plane.requestPass();
    logger.info({ address, serverId, tasks: state.tasks.length, machines: state.machines.length }, 'serving as leader');
  };
  leadership.onLost((reason) => {
    logger.error({ address, serverId, reason }, 'leadership lost; stopping');
    void close();
  });
  logger.info({ address, serverId, ...settings }, 'server started');
  if (leadership instanceof SoleLeadership) await lead();
  else {
    // A replica that cannot lead after winning the lock must let it go, so it closes.
    void lead().catch((error) => {
      if (stopped.signal.aborted) return;
      logger.error({ err: error }, 'failed to take leadership; stopping');
      void close();
    });
  }

  let closing: Promise<void> | undefined;
  function close(): Promise<void> {
    closing ??= (async () => {
      stopped.abort();
      serving = false;
      clearInterval(sweeper);
      for (const name of SERVICE_NAMES) health.setStatus('unhealthy', name);
      hub.closeAll('server shutting down');
      const timer = setTimeout(() => server.forceShutdown(), SHUTDOWN_TIMEOUT_MS);
      await server.shutdown();
      clearTimeout(timer);
      // After a lost leadership the last commit fails; that is logged, and the successor has the state.
      await store.flush().catch((error) => logger.error({ err: error }, 'final commit failed'));
      await store.close();
      await leadership.close();
      logger.info({ address, serverId }, 'server stopped');
      logger.flush();
    })();
    return closing;
  }
  return { address, plane, hub, logger, close };
}
