import { describe, expect, it } from 'vitest';
import { runCrashTest } from './harness/runCrashTest.js';

describe('SQLite crash test', () => {
  it('survives SIGKILL under load', async () => {
    const summary = await runCrashTest({ kills: 2, tasks: 150, store: { kind: 'sqlite' } });

    expect(summary.violations).toEqual([]);
    expect(summary.acknowledged).toBe(150);
    expect(summary.recoveryMs).toHaveLength(2);
  }, 180_000);
});
