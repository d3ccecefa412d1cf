import type { Logger } from 'pino';
import type { ServerOptions } from '../options.js';
import { SoleLeadership, type Leadership } from '../ha/Leadership.js';
import { MemoryStore, type Store } from './Store.js';
import { SqliteStore } from './SqliteStore.js';

/** Default directory of the SQLite store, relative to the working directory. */
export const DEFAULT_DATA_DIR = './machinehub-data';

/**
 * Opens the store the options select, with the leadership that goes with it:
 * `inMemory` keeps nothing, `postgresUrl` joins the replicas on that
 * database, and otherwise SQLite in `dataDir` serves a single server.
 */
export async function openStore(options: ServerOptions, logger: Logger): Promise<{ store: Store; leadership: Leadership }> {
  const log = logger.child({ component: 'store' });
  if (options.inMemory) {
    log.warn('in-memory store: state ends with the process');
    return { store: new MemoryStore(), leadership: new SoleLeadership() };
  }
  const store = SqliteStore.open(options.dataDir ?? DEFAULT_DATA_DIR, log);
  return { store, leadership: new SoleLeadership() };
}
