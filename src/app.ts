// Composition root: builds the backends, the poller, attribution, the
// snapshot store, the exposition and the HTTP server from a Config, and owns
// their start and stop order. Reads top to bottom: each part is built from
// the parts above it.

import type { Logger } from 'pino';
import { createAttribution } from './attribution/sources.ts';
import { vendorsOf, type BackendFactory } from './backends/backend.ts';
import { Poller } from './collect/poller.ts';
import type { Config } from './config.ts';
import { ProcessRunner } from './exec/runner.ts';
import { buildServer } from './http/server.ts';
import { allFamilies, scrapeFamilies as allScrapeFamilies, snapshotFamilies } from './metrics/catalog.ts';
import type { WebConfigWatcher } from './http/web-config.ts';
import { Exposition } from './metrics/exposition.ts';
import { selectFamilies } from './metrics/selection.ts';
import type { BuildInfo } from './metrics/self-families.ts';
import { SnapshotStore } from './store.ts';
import { startTelemetry, type Telemetry } from './telemetry/otel.ts';
import { sampleSpans, TracingRunner } from './telemetry/tracing.ts';

export interface App {
  /** Listens and starts sampling; resolves with the bound address. */
  start(): Promise<{ host: string; port: number }>;
  stop(): Promise<void>;
}

/** Builds the app; imports the module of each enabled backend. `factories` are all known backends (their vendors' id formats). */
export async function createApp(config: Config, factories: readonly BackendFactory<any>[], log: Logger, build: BuildInfo, web?: WebConfigWatcher): Promise<App> {
  const traces = config.telemetry.otel.traces;
  const backends = await Promise.all(
    config.backends.map((b) =>
      b.create({ runner: traces ? new TracingRunner(new ProcessRunner()) : new ProcessRunner(), log: log.child({ backend: b.name }), timeoutMs: config.timeoutMs, intervalMs: config.intervalMs }),
    ),
  );
  if (backends.length === 0) log.warn('every backend is disabled; serving self metrics only');

  const poller = new Poller(
    backends.map((backend, i) => ({ backend, vendor: config.backends[i]!.vendor.name, intervalMs: config.intervalMs, supersedes: config.backends[i]!.supersedes })),
    { timeoutMs: config.timeoutMs, graceIntervals: config.graceIntervals, log, aroundSample: traces ? sampleSpans() : undefined },
  );
  const attribution = config.attribution.enabled
    ? createAttribution(config.attribution, { log, collectIntervalMs: config.intervalMs, timeoutMs: config.timeoutMs, vendors: vendorsOf(factories) })
    : undefined;
  const store = new SnapshotStore(poller.current(), attribution?.attribute);
  poller.subscribe((s) => store.setSnapshot(s));
  attribution?.onChange(() => store.attributionChanged());

  const selection = config.metrics;
  const families = selectFamilies(snapshotFamilies(build), selection, allFamilies()).families;
  const scrapeFamilies = selectFamilies(allScrapeFamilies, selection, allFamilies()).families;
  const unmatched = selectFamilies([], selection, allFamilies()).unmatched;
  if (unmatched.length > 0) log.warn({ globs: unmatched }, 'metric selection globs match no metric family');
  const exposition = new Exposition(families, scrapeFamilies);
  store.subscribe((s) => exposition.update(s));
  const server = buildServer({
    exposition,
    snapshot: () => poller.current(),
    settled: () => poller.settled(),
    staleAfterMs: config.intervalMs * config.graceIntervals + config.timeoutMs,
    web,
  });
  let telemetry: Telemetry | undefined;

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
      log.info({ address: bound, tls: Boolean(web?.current.tls), backends: backends.map((b) => b.name), intervalMs: config.intervalMs }, 'listening');
      web?.start();
      telemetry = await startTelemetry({
        settings: config.telemetry.otel,
        log,
        snapshot: () => store.current(),
        families: [...families, ...scrapeFamilies],
        serviceVersion: build.version,
        nodeName: config.telemetry.nodeName,
      });
      poller.start();
      attribution?.start();
      return bound;
    },
    async stop() {
      web?.stop();
      await poller.stop();
      await attribution?.stop();
      await server.close();
      // Last, so the final cycle's spans and a last metric export are flushed.
      await telemetry?.shutdown();
    },
  };
}
