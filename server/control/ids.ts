import { randomBytes } from 'node:crypto';

/** Ids of machines, agents and client-chosen task ids: safe in logs, URLs and file names. */
export const ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Returns a new task id: a millisecond timestamp then random bits, so ids sort
 * roughly by creation time and two servers never pick the same one.
 */
export function newTaskId(nowMs: number): string {
  return `t-${nowMs.toString(36)}-${randomBytes(5).toString('hex')}`;
}
