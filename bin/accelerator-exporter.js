#!/usr/bin/env node
// The exporter runs its TypeScript sources directly (Node >= 22.18 strips types).
// npm scripts and npx put the pinned Node 24 from devDependencies first on PATH.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `accelerator-exporter needs Node >= 22.18 (this is ${process.version}); ` +
      'run it with `npm start` or `npx accelerator-exporter`, which use the pinned Node 24.\n',
  );
  process.exit(1);
}
await import('../src/main.ts');
