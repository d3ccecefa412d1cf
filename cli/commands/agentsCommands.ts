import { Agent, SendAgentMessageResponse } from '../../gen/machinehub/agent/v1/agent.js';
import type { Command } from '../Command.js';
import { formatAgentState, formatTime } from '../formatNames.js';
import { formatTable } from '../formatTable.js';
import { rejectExtraPositionals, requiredPositional, stringOption } from '../optionValues.js';

const list: Command = {
  name: 'agents list',
  summary: 'list the agents the server knows, connected or not',
  help: `Usage: machinehub agents list`,
  options: {},
  async run(context, _values, positionals) {
    rejectExtraPositionals(positionals, 0);
    const response = await context.client().agents.listAgents({}, context.requestOptions());
    if (context.json) {
      // An explicit array, even when empty, so scripts can iterate without a null check.
      context.print(JSON.stringify({ agents: response.agents.map((agent) => Agent.toJSON(agent)) }, null, 2));
      return;
    }
    if (response.agents.length === 0) {
      context.print('no agents');
      return;
    }
    const rows = response.agents.map((agent) => [
      agent.id,
      agent.machineId,
      formatAgentState(agent.state),
      agent.peer || '-',
      formatTime(agent.connectTime),
      formatTime(agent.lastHeartbeatTime),
      String(agent.protocolVersion),
    ]);
    context.print(formatTable(['ID', 'MACHINE', 'STATE', 'PEER', 'CONNECTED', 'LAST HEARTBEAT', 'PROTOCOL'], rows));
  },
};

const send: Command = {
  name: 'send',
  summary: 'send a message to a connected agent',
  help: `Usage: machinehub send AGENT_ID [--topic TOPIC] [--from NAME] MESSAGE

Sends MESSAGE (as UTF-8 bytes) to a connected agent and prints the message id.

  --topic TOPIC   topic for the receiver's dispatch, at most 256 characters
  --from NAME     sender name the agent sees (default "client")`,
  options: { topic: { type: 'string' }, from: { type: 'string' } },
  async run(context, values, positionals) {
    const toAgentId = requiredPositional(positionals, 0, 'AGENT_ID');
    const message = requiredPositional(positionals, 1, 'MESSAGE');
    rejectExtraPositionals(positionals, 2);

    const response = await context.client().agents.sendAgentMessage({
      toAgentId,
      topic: stringOption(values, 'topic') ?? '',
      payload: Buffer.from(message, 'utf8'),
      from: stringOption(values, 'from') ?? '',
    }, context.requestOptions());
    if (context.json) {
      context.print(JSON.stringify(SendAgentMessageResponse.toJSON(response), null, 2));
      return;
    }
    context.print(response.messageId);
  },
};

/** `agents list` and `send`. */
export const AGENTS_COMMANDS: Command[] = [list, send];
