import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { spawnAgent, startTestServer, waitForMachine } from '../support/cluster.js';

const run = promisify(execFile);

/** Runs the real grpcurl binary (installed by .ci/run) against a local server. */
async function grpcurl(...args: string[]): Promise<string> {
  const { stdout } = await run('grpcurl', ['-plaintext', ...args], { timeout: 20_000 });
  return stdout;
}

const SERVICES = [
  'grpc.health.v1.Health',
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
  'machinehub.agent.v1.AgentService',
  'machinehub.machine.v1.MachineService',
  'machinehub.task.v1.TaskService',
];

describe('grpcurl through reflection', () => {
  it('lists every service', async () => {
    const { server } = await startTestServer();
    const listed = (await grpcurl(server.address, 'list')).trim().split('\n');
    expect(listed.sort()).toEqual(SERVICES);
  });

  it('describes services across packages', async () => {
    const { server } = await startTestServer();
    const agent = await grpcurl(server.address, 'describe', 'machinehub.agent.v1.AgentService');
    expect(agent).toContain('rpc Connect ( stream .machinehub.agent.v1.ConnectRequest ) returns ( stream .machinehub.agent.v1.ConnectResponse )');
    // RegisterAgent uses a message of machine.v1; AgentRegistered a well-known type.
    const register = await grpcurl(server.address, 'describe', 'machinehub.agent.v1.RegisterAgent');
    expect(register).toContain('.machinehub.machine.v1.MachineCapacity capacity = 3;');
    const registered = await grpcurl(server.address, 'describe', 'machinehub.agent.v1.AgentRegistered');
    expect(registered).toContain('.google.protobuf.Duration heartbeat_interval = 2;');
    for (const service of SERVICES) {
      expect(await grpcurl(server.address, 'describe', service)).toContain(`${service} is a service`);
    }
  });

  it('calls each service with JSON', async () => {
    const { server, client } = await startTestServer();
    spawnAgent(server.address, 'json-box', ['--cpus', '2', '--memory-mib', '2048']);
    await waitForMachine(client, 'json-box');

    const submitted = JSON.parse(
      await grpcurl(
        '-d',
        '{"tasks":[{"id":"from-grpcurl","command":"true","resources":{"cpu_milli":"500","memory_mib":"64"},"timeout":"30s"}]}',
        server.address,
        'machinehub.task.v1.TaskService/SubmitTasks',
      ),
    );
    expect(submitted.tasks[0].id).toBe('from-grpcurl');
    expect(submitted.tasks[0].spec.timeout).toBe('30s');

    const machines = JSON.parse(await grpcurl('-d', '{}', server.address, 'machinehub.machine.v1.MachineService/ListMachines'));
    expect(machines.machines[0].id).toBe('json-box');
    const agents = JSON.parse(await grpcurl('-d', '{}', server.address, 'machinehub.agent.v1.AgentService/ListAgents'));
    expect(agents.agents[0].state).toBe('AGENT_STATE_CONNECTED');
    const health = JSON.parse(await grpcurl('-d', '{"service":"machinehub.task.v1.TaskService"}', server.address, 'grpc.health.v1.Health/Check'));
    expect(health.status).toBe('SERVING');
  });

  it('answers reflection v1alpha directly', async () => {
    const { server } = await startTestServer();
    for (const version of ['v1', 'v1alpha']) {
      const answer = JSON.parse(
        await grpcurl('-d', '{"list_services":""}', server.address, `grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`),
      );
      const names = answer.listServicesResponse.service.map((service: { name: string }) => service.name);
      expect(names).toContain('machinehub.task.v1.TaskService');
    }
  });

  it('rejects an int64 beyond 2^53', async () => {
    const { server, client } = await startTestServer();
    const body = '{"id":"m1","capacity":{"cpu_milli":"9223372036854775807","memory_mib":"1"}}';
    const failure = await run('grpcurl', ['-plaintext', '-d', body, server.address, 'machinehub.machine.v1.MachineService/RegisterMachine'], {
      timeout: 20_000,
    }).then(
      () => undefined,
      (error: { stderr: string }) => error.stderr,
    );
    expect(failure).toContain('Code: InvalidArgument');
    expect(failure).toContain('int64 fields take integers from 0 to 9007199254740991');
    expect((await client.machines.listMachines({ statuses: [], pageSize: 0, pageToken: '' })).machines).toHaveLength(0);
  });
});
