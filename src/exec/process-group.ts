// Vendor tools run in their own process group (spawned detached), so that a
// tool and everything it started end together: a child that the tool forked
// and left holding its stdout, or a helper still running at the deadline,
// dies with the group instead of living on as an orphan.

/** Process groups started and not yet known to be empty; killed when the exporter exits. */
const live = new Set<number>();
let exitHookInstalled = false;

/** Remembers a group (its leader's pid) so it is killed if the exporter exits first. */
export function trackGroup(pid: number): void {
  live.add(pid);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // 'exit' handlers run synchronously; process.kill is synchronous too.
    process.once('exit', () => {
      for (const g of live) killGroup(g);
    });
  }
}

/** SIGKILL to every process of the group led by `pid`; a group already empty is fine. */
export function killGroup(pid: number): void {
  live.delete(pid);
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: every process of the group has exited already.
  }
}
