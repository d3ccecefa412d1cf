import type pg from 'pg';

/** Schema version this code reads and writes. */
export const PG_SCHEMA_VERSION = 1;

/**
 * Key of the transaction-scoped advisory lock that serializes schema creation,
 * because two replicas starting at once would otherwise race on CREATE TABLE.
 */
const SCHEMA_LOCK_KEY = 0x6d68_0001;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL);
  CREATE TABLE IF NOT EXISTS tasks (
    id text PRIMARY KEY,
    seq bigint NOT NULL,
    state text NOT NULL,
    record text NOT NULL
  );
  CREATE TABLE IF NOT EXISTS machines (
    id text PRIMARY KEY,
    record text NOT NULL
  );
  CREATE TABLE IF NOT EXISTS leader (
    id integer PRIMARY KEY CHECK (id = 1),
    epoch bigint NOT NULL,
    address text NOT NULL,
    acquired_at timestamptz
  );
  INSERT INTO leader (id, epoch, address) VALUES (1, 0, '') ON CONFLICT (id) DO NOTHING;
`;

/**
 * Creates the tables of a new database and checks the version of an existing
 * one. Throws when the version differs from PG_SCHEMA_VERSION.
 */
export async function ensurePgSchema(client: pg.Client): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK_KEY]);
    await client.query(SCHEMA);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_version');
    if (rows.length === 0) {
      await client.query('INSERT INTO schema_version (version) VALUES ($1)', [PG_SCHEMA_VERSION]);
    } else if (rows[0]!.version !== PG_SCHEMA_VERSION) {
      throw new Error(`database has schema version ${rows[0]!.version}, but this server reads version ${PG_SCHEMA_VERSION}: use a matching machinehub version`);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}

/** Returns a postgres:// URL with its password replaced by "***", for logs and errors. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'an unparsable postgres URL';
  }
}
