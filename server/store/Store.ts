import type { MachineRecord, TaskRecord } from '../control/records.js';

/** Everything a server needs to resume after a restart. */
export interface StoredState {
  machines: MachineRecord[];
  tasks: TaskRecord[];
}

/**
 * Durable state behind the control plane. Saves are cheap and synchronous:
 * they mark a record dirty in the current batch. `flush` commits the batch,
 * so all saves of one event-loop turn land in one transaction, and an RPC
 * that accepts work awaits `flush` before it responds.
 */
export interface Store {
  /** Reads the state left by the last run (empty on a new store). */
  load(): Promise<StoredState>;
  /** Queues the record's current content for the next commit. */
  saveTask(task: TaskRecord): void;
  saveMachine(machine: MachineRecord): void;
  deleteMachine(id: string): void;
  /** Resolves when every save made before the call is durable. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** A store that keeps nothing: state ends with the process (`--in-memory`). */
export class MemoryStore implements Store {
  async load(): Promise<StoredState> {
    return { machines: [], tasks: [] };
  }
  saveTask(): void {}
  saveMachine(): void {}
  deleteMachine(): void {}
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}
