/**
 * Settings of the `machinehub agent` process (runAgent). Capacity fields
 * override what the agent detects, so that a GPU machine can be declared on
 * a host without GPUs.
 */
export interface AgentOptions {
  /** Server address, host:port, for example "127.0.0.1:50051" or "[::1]:50051". */
  server: string;
  /** Agent id, 1 to 128 characters of [A-Za-z0-9._:-]. Default: the host name. */
  agentId?: string;
  /** Machine the agent serves. Default: agentId. */
  machineId?: string;
  /** CPU to declare in millicores. Default: os.availableParallelism() * 1000. */
  cpuMilli?: number;
  /** Memory to declare in MiB. Default: os.totalmem() in whole MiB. */
  memoryMib?: number;
  /** Number of GPU devices to declare, numbered 0 to gpuCount - 1. Default: the devices nvidia-smi lists. */
  gpuCount?: number;
  /** GPU model of every declared device, for example "A100". Default: as detected, else empty (unknown). */
  gpuModel?: string;
  /** Memory of every declared GPU device in MiB. Default: as detected, else 0 (unknown). */
  gpuMemoryMib?: number;
  /** Machine labels for placement constraints. Default none. */
  labels?: Record<string, string>;
  /** pino log level: trace, debug, info, warn, error, fatal or silent. Default 'info'. */
  logLevel?: string;
  /** Upper bound of the reconnect delay, ms. Default 30000. */
  maxReconnectBackoffMs?: number;
  /** Time running tasks get to finish when the agent drains, before it stops them, ms. Default 300000. */
  drainDeadlineMs?: number;
  /** Time between SIGTERM and SIGKILL when a timeout or drain deadline stops a task, ms. Default 10000. */
  killGraceMs?: number;
  /** Working directory of task processes, created if missing. Default: the agent's current directory. */
  workDir?: string;
}
