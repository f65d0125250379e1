// `--path.procfs` is only read when a GPU process is attributed, which may be
// long after start (or never, on an idle node): a wrong path would go
// unnoticed. It is checked once at start instead, and a problem logged.

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Why `procfs` cannot serve process cgroup lookups, or undefined when it can. */
export function procfsProblem(procfs: string): string | undefined {
  let entries: string[];
  try {
    entries = readdirSync(procfs);
  } catch (err) {
    return `cannot list ${procfs}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
  const pids = entries.filter((e) => /^\d+$/.test(e));
  if (pids.length === 0) return `${procfs} holds no process directories; is it a procfs mount?`;
  // Processes come and go while we look; one readable cgroup file is enough.
  let last = '';
  for (const pid of pids.slice(0, 16)) {
    try {
      readFileSync(path.join(procfs, pid, 'cgroup'), 'utf8');
      return undefined;
    } catch (err) {
      last = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    }
  }
  return `cannot read ${path.join(procfs, '<pid>', 'cgroup')}: ${last}`;
}
