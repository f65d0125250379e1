// Whether a process still runs, for tests that check that nothing a tool
// started outlives it.

import { readFileSync } from 'node:fs';

/** Gone, or a zombie waiting for a reaper that is not ours (the test's PID 1 may not reap). */
export function processGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}
