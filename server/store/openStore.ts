import type { Logger } from 'pino';
import type { ServerOptions } from '../options.js';
import { SoleLeadership, type Leadership } from '../ha/Leadership.js';
import { PgLeadership } from '../ha/PgLeadership.js';
import { MemoryStore, type Store } from './Store.js';
import { PgStore } from './PgStore.js';
import { redactUrl } from './pgSchema.js';
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
  if (options.postgresUrl !== undefined) {
    const leadership = await PgLeadership.open(options.postgresUrl, logger);
    log.info({ url: redactUrl(options.postgresUrl) }, 'PostgreSQL store opened, waiting for leadership');
    return { store: new PgStore(options.postgresUrl, leadership, log), leadership };
  }
  const store = SqliteStore.open(options.dataDir ?? DEFAULT_DATA_DIR, log);
  return { store, leadership: new SoleLeadership() };
}
