/**
 * Typed client of a machinehub server, and the resource formatting the CLI
 * shows. This folder imports only the generated code in gen/ and the shared
 * defaults in server/options.ts, never the server itself.
 */
export { createMachinehubClient } from './createMachinehubClient.js';
export type { MachinehubClient, MachinehubClientOptions } from './createMachinehubClient.js';
export { LEADER_METADATA_KEY } from './followLeader.js';
export { formatCores, formatCpu, formatGpuShare, formatMemory } from './formatResources.js';
