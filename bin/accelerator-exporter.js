#!/usr/bin/env node
// Runs the compiled dist/ (built by `npm ci` through the prepare script, and by
// npm start and npm test), or the TypeScript sources directly where dist/ is
// missing: Node >= 22.18 strips types, at a cost of about 25 MiB of memory.
// npm scripts and npx put the pinned Node 24 from devDependencies first on PATH.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `accelerator-exporter needs Node >= 22.18 (this is ${process.version}); ` +
      'run it with `npm start` or `npx accelerator-exporter`, which use the pinned Node 24.\n',
  );
  process.exit(1);
}
import { existsSync } from 'node:fs';
const compiled = new URL('../dist/main.js', import.meta.url);
await import(existsSync(compiled) ? compiled.href : '../src/main.ts');
