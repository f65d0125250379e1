// Every kustomize directory renders, and every rendered object matches the
// Kubernetes and prometheus-operator schemas (see schema.ts for versions).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KUBECTL_MISSING, kubectlAvailable, kustomizeTargets, render, type K8sObject } from './kustomize.ts';
import { schemaErrors, unknownFieldErrors } from './schema.ts';

const skip = kubectlAvailable() ? false : KUBECTL_MISSING;

test('the validators reject a wrong type, a missing required field and an unknown field', async () => {
  const broken = {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'broken' },
    spec: {
      selector: { matchLabels: { a: 'b' } },
      template: {
        spec: {
          containers: [
            {
              name: 'c',
              ports: [{ containerPort: 'metrics' }],
              securityContext: { readOnlyRootFileSystem: true },
            },
            { image: 'no-name' },
          ],
        },
      },
    },
  } as unknown as K8sObject;
  const errors = await schemaErrors(broken);
  assert.ok(errors.some((e) => e.includes('/containers/0/ports/0/containerPort must be integer')), errors.join('\n'));
  assert.ok(errors.some((e) => e.includes('must have required property name')), errors.join('\n'));
  const strict = unknownFieldErrors([broken]);
  assert.ok(strict.some((e) => e.startsWith('DaemonSet/broken:') && e.includes('readOnlyRootFileSystem')), strict.join('\n'));
  const monitor = { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 'm' }, spec: { endpoints: [{ honorLabel: true }] } } as unknown as K8sObject;
  assert.ok((await schemaErrors(monitor)).some((e) => e.includes('required property selector')));
  assert.ok(unknownFieldErrors([monitor]).some((e) => e.includes('honorLabel')));
});

for (const target of kustomizeTargets()) {
  test(`daemonset/${target} renders and every object is schema-valid`, { skip }, async () => {
    const objects = render(target);
    assert.ok(objects.length > 0, 'rendered nothing');
    const errors = (await Promise.all(objects.map(schemaErrors))).flat();
    assert.deepEqual(errors, []);
  });
}

// One TypeScript program for every target: compiling is the expensive part.
test('no rendered object has a field the Kubernetes / prometheus-operator types lack', { skip }, () => {
  const targets = kustomizeTargets();
  const rendered = targets.map((t) => render(t));
  const where = targets.flatMap((t, i) => rendered[i]!.map(() => `daemonset/${t}`));
  assert.deepEqual(unknownFieldErrors(rendered.flat(), where), []);
});
