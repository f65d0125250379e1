// parseCgroup over /proc/<pid>/cgroup texts from public issues (test/fixtures/cgroup/paths.json,
// sources in SOURCES.md there), and lookupPid over the procfs fixture tree.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { lookupPid, parseCgroup } from '../../src/attribution/cgroup.ts';
import { podsByUid } from '../../src/attribution/kube-api.ts';
import { FIXTURES } from '../helpers/exporter.ts';

interface Case {
  readonly form: string;
  readonly source: string;
  readonly text: string;
  readonly podUid?: string;
  readonly containerId?: string;
}

const CASES = JSON.parse(readFileSync(path.join(FIXTURES, 'cgroup/paths.json'), 'utf8')) as Case[];

describe('parseCgroup', () => {
  it('has pod and host cases to run', () => {
    assert.equal(CASES.filter((c) => c.podUid !== undefined).length, 14);
    assert.equal(CASES.filter((c) => c.podUid === undefined).length, 5);
  });
  for (const c of CASES) {
    it(`${c.form} (${c.source})`, () => {
      const want = c.podUid === undefined ? undefined : { podUid: c.podUid, containerId: c.containerId ?? '' };
      assert.deepEqual(parseCgroup(c.text), want);
    });
  }

  it('skips lines that are not hierarchy:controllers:path', () => {
    assert.equal(parseCgroup(''), undefined);
    assert.equal(parseCgroup('garbage\n\n'), undefined);
    assert.deepEqual(parseCgroup('junk\n0::/kubepods/besteffort/pod9a18ffb8-8513-11e7-b26e-7e29fbe2a5a3\n'), { podUid: '9a18ffb8-8513-11e7-b26e-7e29fbe2a5a3', containerId: '' });
  });

  it('does not take a uid-like word that is not a pod cgroup', () => {
    assert.equal(parseCgroup('0::/system.slice/mypod1f6c2a7e-8d4b-4c1a-9e3f-2b5d7c9a0e11x.service\n'), undefined);
    assert.equal(parseCgroup('0::/system.slice/pod1f6c2a7e-8d4b-4c1a-9e3f-2b5d7c9a0e11extra\n'), undefined);
  });
});

describe('lookupPid', () => {
  const procfs = path.join(FIXTURES, 'procfs/two-pods-one-gpu');
  it('reads the fixture tree: pod, host and gone', () => {
    assert.deepEqual(lookupPid(procfs, 11327), { kind: 'pod', owner: { podUid: '1f6c2a7e-8d4b-4c1a-9e3f-2b5d7c9a0e11', containerId: '3b1f0c5e7a9d2f4b6c8e0a1b3d5f7e9c1a2b4d6f8e0c2a4b6d8f0e1c3a5b7d9f' } });
    assert.deepEqual(lookupPid(procfs, 11328), { kind: 'pod', owner: { podUid: '1f6c2a7e-8d4b-4c1a-9e3f-2b5d7c9a0e11', containerId: '3b1f0c5e7a9d2f4b6c8e0a1b3d5f7e9c1a2b4d6f8e0c2a4b6d8f0e1c3a5b7d9f' } });
    assert.deepEqual(lookupPid(procfs, 1), { kind: 'host' });
    assert.deepEqual(lookupPid(procfs, 424242), { kind: 'gone' });
  });
});

describe('podsByUid', () => {
  it('finds a static pod by the manifest hash its cgroup is named by', () => {
    const mirror = {
      metadata: { namespace: 'kube-system', name: 'etcd-node-1', uid: 'c0ffee00-0000-4000-8000-000000000001', annotations: { 'kubernetes.io/config.hash': '8daa50c3a64c9ff60bb9eab7b44b56fd', 'kubernetes.io/config.mirror': '8daa50c3a64c9ff60bb9eab7b44b56fd' } },
      status: { containerStatuses: [{ name: 'etcd', containerID: 'containerd://2884d57c0e100d7a9a2f9487ce0bc2986bca3430e988af7a4865aff061f51ac5' }] },
    };
    const byUid = podsByUid([mirror]);
    const owner = parseCgroup(CASES[1]!.text)!;
    const pod = byUid.get(owner.podUid);
    assert.equal(pod?.name, 'etcd-node-1');
    assert.equal(pod?.containers.get(owner.containerId), 'etcd');
    assert.equal(byUid.get('c0ffee00-0000-4000-8000-000000000001'), pod);
  });
});
