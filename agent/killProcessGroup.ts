/**
 * Sends a signal to every process in the group led by `pid` (kill(2) with a
 * negative pid). Returns false when the group no longer exists (ESRCH), and
 * rethrows any other error, such as EPERM.
 */
export function killProcessGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') {
      return false;
    }
    throw error;
  }
}
