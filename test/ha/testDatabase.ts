import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** Admin URL of the test PostgreSQL cluster (scripts/start-postgres.sh prints one), or undefined. */
export const TEST_PG_URL = process.env['MACHINEHUB_TEST_PG_URL'] || undefined;

/**
 * Creates an empty database on the cluster of `adminUrl` and returns its URL
 * and a function that drops it, ending the sessions still connected to it.
 */
export async function createTestDatabase(adminUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `machinehub_test_${randomBytes(6).toString('hex')}`;
  await withAdmin(adminUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () =>
      withAdmin(adminUrl, async (client) => {
        await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
        await client.query(`DROP DATABASE IF EXISTS ${name}`);
      }),
  };
}

/** Runs `action` on a short-lived connection to `url`. */
export async function withAdmin<T>(url: string, action: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await action(client);
  } finally {
    await client.end();
  }
}
