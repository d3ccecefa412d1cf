/**
 * The machinehub agent: the process that registers a machine with the
 * server over AgentService.Connect and runs the tasks assigned to it
 * (runAgent), and the SDK for code that acts as an agent itself
 * (connectAgent). Both use the same connection core, AgentConnection.
 *
 * May import gen/, server/options.ts (shared limits) and
 * client/followLeader.ts (the leader trailer key), never other server/
 * modules: the agent is a client of the server's wire protocol only.
 */
export type { AgentOptions } from './AgentOptions.js';
export { runAgent, drain, stopNow } from './runAgent.js';
export { connectAgent } from './connectAgent.js';
export { AgentSession, DEFAULT_DRAIN_DEADLINE_MS, type AgentSessionOptions, type MessageHandler } from './AgentSession.js';
export { MessageNotDeliveredError } from './MessageNotDeliveredError.js';
export type { TaskHandler, TaskHandlerResult } from './AttemptExecution.js';
export { PROTOCOL_VERSION } from './AgentConnection.js';
export { detectCapacity, applyGpuOverrides } from './detectCapacity.js';
export { parseNvidiaSmiOutput } from './parseNvidiaSmiOutput.js';
export { createAgentChannel } from './createAgentChannel.js';
