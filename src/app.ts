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
import { startTelemetry, type Telemetry } from './telemetry/otel.ts';
import { otelSettings } from './telemetry/otel-config.ts';
import { sampleSpans, TracingRunner } from './telemetry/tracing.ts';

export interface App {
  /** Listens and starts sampling; resolves with the bound address. */
  start(): Promise<{ host: string; port: number }>;
  stop(): Promise<void>;
}

export function createApp(config: Config, factories: readonly BackendFactory[], log: Logger, build: BuildInfo): App {
  const otel = otelSettings(process.env);
  const entries: PollerEntry[] = factories
    .filter((f) => config.backends[f.name])
    .map((f) => ({
      vendor: f.vendor,
      intervalMs: config.intervalMs,
      supersedes: f.supersedes,
      backend: f.create({ runner: otel.traces ? new TracingRunner(new ExecaRunner()) : new ExecaRunner(), log: log.child({ backend: f.name }), timeoutMs: config.timeoutMs, intervalMs: config.intervalMs }, config.raw),
    }));
  if (entries.length === 0) log.warn('every backend is disabled; serving self metrics only');

  const families = snapshotFamilies(build);
  const exposition = new Exposition(families, scrapeFamilies);
  const poller: Poller = new Poller(entries, {
    timeoutMs: config.timeoutMs,
    graceIntervals: config.graceIntervals,
    log,
    onSnapshot: (s) => publish(s),
    aroundSample: otel.traces ? sampleSpans((name) => poller.current().backends.find((b) => b.name === name)) : undefined,
  });
  let telemetry: Telemetry | undefined;
  // Attribution joins the latest snapshot with its cached kubelet/API state whenever either changes;
  // /metrics and OTLP read the same joined snapshot.
  const attribution = createAttribution(config, log, () => publish());
  let joined: Snapshot = poller.current();
  const publish = (s: Snapshot = poller.current()) => {
    joined = attribution ? attribution.combine(s) : s;
    exposition.update(joined);
  };
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
      telemetry = await startTelemetry({
        settings: otel,
        log,
        snapshot: () => joined,
        families: [...families, ...scrapeFamilies],
        serviceVersion: build.version,
        nodeName: process.env.NODE_NAME,
      });
      poller.start();
      attribution?.start();
      return bound;
    },
    async stop() {
      await poller.stop();
      await attribution?.stop();
      await server.close();
      // Last, so the final cycle's spans and a last metric export are flushed.
      await telemetry?.shutdown();
    },
  };
}
