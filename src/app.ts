// Composition root: builds the backends, the poller, the exposition and the
// HTTP server from a Config, and owns their start and stop order.

import type { Logger } from 'pino';
import { createAttribution } from './attribution/service.ts';
import type { BackendFactory } from './backends/backend.ts';
import { Poller, type PollerEntry } from './collect/poller.ts';
import type { Snapshot } from './collect/snapshot.ts';
import type { Config } from './config.ts';
import { ExecaRunner } from './exec/runner.ts';
import { buildServer } from './http/server.ts';
import { scrapeFamilies, snapshotFamilies } from './metrics/catalog.ts';
import { Exposition } from './metrics/exposition.ts';
import type { BuildInfo } from './metrics/self-families.ts';

export interface App {
  /** Listens and starts sampling; resolves with the bound address. */
  start(): Promise<{ host: string; port: number }>;
  stop(): Promise<void>;
}

export function createApp(config: Config, factories: readonly BackendFactory[], log: Logger, build: BuildInfo): App {
  const entries: PollerEntry[] = factories
    .filter((f) => config.backends[f.name])
    .map((f) => ({
      vendor: f.vendor,
      intervalMs: config.intervalMs,
      backend: f.create({ runner: new ExecaRunner(), log: log.child({ backend: f.name }), timeoutMs: config.timeoutMs }, config.raw),
    }));
  if (entries.length === 0) log.warn('every backend is disabled; serving self metrics only');

  const exposition = new Exposition(snapshotFamilies(build), scrapeFamilies);
  const poller = new Poller(entries, {
    timeoutMs: config.timeoutMs,
    graceIntervals: config.graceIntervals,
    log,
    onSnapshot: (s) => publish(s),
  });
  // Attribution joins the latest snapshot with its cached kubelet/API state whenever either changes.
  const attribution = createAttribution(config, log, () => publish());
  const publish = (s: Snapshot = poller.current()) => exposition.update(attribution ? attribution.combine(s) : s);
  publish();
  const server = buildServer({
    exposition,
    snapshot: () => poller.current(),
    settled: () => poller.settled(),
    staleAfterMs: config.intervalMs * config.graceIntervals + config.timeoutMs,
  });

  return {
    async start() {
      const host = config.listen.host === '' ? '::' : config.listen.host;
      try {
        await server.listen({ host, port: config.listen.port });
      } catch (err) {
        // '::' fails where IPv6 is disabled; fall back to every IPv4 interface.
        if (config.listen.host !== '' || (err as NodeJS.ErrnoException).code !== 'EAFNOSUPPORT') throw err;
        await server.listen({ host: '0.0.0.0', port: config.listen.port });
      }
      const addr = server.server.address();
      const bound = typeof addr === 'object' && addr ? { host: addr.address, port: addr.port } : { host, port: config.listen.port };
      log.info({ address: bound, backends: entries.map((e) => e.backend.name), intervalMs: config.intervalMs }, 'listening');
      poller.start();
      attribution?.start();
      return bound;
    },
    async stop() {
      await poller.stop();
      await attribution?.stop();
      await server.close();
    },
  };
}
