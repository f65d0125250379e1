// Which pod and container a process runs in, read from /proc/<pid>/cgroup.
// Covers cgroup v1 and v2, the cgroupfs and systemd drivers, and the
// containerd, CRI-O and Docker (cri-dockerd) leaf names. The kubelet names
// pod cgroups `pod<uid>` (cgroupfs) or `kubepods-<qos>-pod<uid_with_underscores>.slice` (systemd);
// containerd under cgroup v1 with systemd also writes `<slice>:cri-containerd:<id>`. Static pods'
// UIDs are the 32-hex hash of their manifest. Real examples: test/fixtures/cgroup/paths.json.

import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface CgroupOwner {
  /** Pod UID with dashes (a static pod's: its 32-hex config hash). */
  readonly podUid: string;
  /** 64-hex container id, or empty when the process sits in the pod cgroup itself. */
  readonly containerId: string;
}

const POD = /(?:^|[/-])pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}|[0-9a-f]{32})(?:\.slice)?(?=[/:]|$)/;
const CONTAINER = /[/:](?:cri-containerd-|crio-|docker-|containerd-)?([0-9a-f]{64})(?:\.scope)?$/;

/** Parses the text of /proc/<pid>/cgroup; undefined for a process outside any pod (a host process). */
export function parseCgroup(text: string): CgroupOwner | undefined {
  for (const line of text.split('\n')) {
    // hierarchy-id:controllers:path; v2 is `0::path`. Paths have no ':' in practice, but keep the rest whole.
    const parts = line.split(':');
    if (parts.length < 3) continue;
    const p = parts.slice(2).join(':').trim();
    const pod = POD.exec(p);
    if (!pod) continue;
    const ctr = CONTAINER.exec(p);
    return { podUid: pod[1]!.replace(/_/g, '-'), containerId: ctr ? ctr[1]! : '' };
  }
  return undefined;
}

export type CgroupLookup = { readonly kind: 'pod'; readonly owner: CgroupOwner } | { readonly kind: 'host' } | { readonly kind: 'gone' };

export function lookupPid(procfs: string, pid: number): CgroupLookup {
  let text: string;
  try {
    text = readFileSync(path.join(procfs, String(pid), 'cgroup'), 'utf8');
  } catch {
    // Exited since the tool listed it, or this exporter does not share the host PID namespace.
    return { kind: 'gone' };
  }
  const owner = parseCgroup(text);
  return owner ? { kind: 'pod', owner } : { kind: 'host' };
}
