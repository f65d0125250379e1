// Entry point: flags, logger, app, signals. Exit 2 on a bad flag before anything binds.

import { readFileSync } from 'node:fs';
import { createApp } from './app.ts';
import { BACKEND_FACTORIES } from './backends/registry.ts';
import { ConfigError, helpText, parseConfig } from './config.ts';
import { createLogger } from './log.ts';

// Read at run time so the same line works from src/ and from the compiled dist/.
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseConfig(process.argv.slice(2), process.env, BACKEND_FACTORIES);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`accelerator-exporter: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (parsed.kind === 'help') {
    process.stdout.write(helpText(BACKEND_FACTORIES));
    return 0;
  }
  if (parsed.kind === 'version') {
    process.stdout.write(`accelerator-exporter ${pkg.version} (node ${process.version})\n`);
    return 0;
  }
  const { config } = parsed;
  const log = createLogger(config.logLevel, config.logFormat);
  const app = await createApp(config, BACKEND_FACTORIES, log, { version: pkg.version, nodeVersion: process.version });
  // Handlers before start: the first listener of a signal fixes the async
  // context its callbacks run in, and one added later inside a traced tool run
  // (execa's exit hook) would tie the shutdown and its log lines to that trace.
  const stopped = new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        log.warn({ signal }, 'second signal; exiting now');
        resolve(1);
        return;
      }
      stopping = true;
      log.info({ signal }, 'shutting down');
      const force = setTimeout(() => resolve(1), 5000);
      force.unref();
      app.stop().then(
        () => resolve(0),
        (err) => {
          log.error({ err: (err as Error).message }, 'error while shutting down');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
  try {
    await app.start();
  } catch (err) {
    log.error({ err: (err as Error).message }, 'cannot listen');
    return 1;
  }
  return await stopped;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`accelerator-exporter: fatal: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
