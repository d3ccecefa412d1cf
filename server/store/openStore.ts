import type { Logger } from 'pino';
import type { ServerOptions } from '../options.js';
import { SoleLeadership, type Leadership } from '../ha/Leadership.js';
import { MemoryStore, type Store } from './Store.js';

/** Opens the store the options ask for, with the leadership that goes with it. */
export async function openStore(options: ServerOptions, logger: Logger): Promise<{ store: Store; leadership: Leadership }> {
  // TODO: SQLite under dataDir and PostgreSQL for HA; memory until they land.
  void logger;
  return { store: new MemoryStore(), leadership: new SoleLeadership() };
}
