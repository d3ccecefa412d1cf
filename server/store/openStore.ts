import type { Logger } from 'pino';
import type { ServerOptions } from '../options.js';
import { MemoryStore, type Store } from './Store.js';

/** Opens the store the options ask for. */
export async function openStore(options: ServerOptions, logger: Logger): Promise<Store> {
  // TODO: SQLite under dataDir and PostgreSQL for HA; memory until they land.
  void logger;
  return new MemoryStore();
}
