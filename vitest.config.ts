import { defineConfig } from 'vitest/config';

// Tests start real servers and agent processes, so they get generous timeouts
// and run in forked workers (child processes and signals behave as in production).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/globalSetup.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
