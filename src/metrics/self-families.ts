// The exporter's own health: per-backend state, timing and failures, build
// info, and process metrics. What changes between two snapshots is rendered
// with them; what changes with the clock (ages, process counters) is
// rendered at scrape time, a handful of lines.

import { FAILURE_REASONS } from '../backends/backend.ts';
import { BACKEND_STATES, type Snapshot } from '../collect/snapshot.ts';
import type { MetricFamily } from './family.ts';

export interface BuildInfo {
  readonly version: string;
  readonly nodeVersion: string;
}

export function snapshotSelfFamilies(build: BuildInfo): MetricFamily[] {
  return [
    {
      name: 'accelerator_exporter_build_info',
      help: 'Build of the running exporter; always 1.',
      type: 'gauge',
      unit: '',
      labelNames: ['version', 'node_version'],
      stability: 'stable',
      *samples() {
        yield { labels: [build.version, build.nodeVersion], value: 1 };
      },
    },
    {
      name: 'accelerator_exporter_backend_state',
      help: 'State of a backend after its last sample (one series per state, 1 for the current one): ok, no_data (tool or devices absent, not a failure), failed.',
      type: 'gauge',
      unit: '',
      labelNames: ['backend', 'state'],
      stability: 'stable',
      *samples(s) {
        for (const b of s.backends) {
          if (b.state === 'pending') continue;
          for (const st of BACKEND_STATES) yield { labels: [b.name, st], value: b.state === st ? 1 : 0 };
        }
      },
    },
    {
      name: 'accelerator_exporter_backend_devices',
      help: 'Devices a backend contributes to /metrics now.',
      type: 'gauge',
      unit: '',
      labelNames: ['backend'],
      stability: 'stable',
      *samples(s) {
        for (const b of s.backends) yield { labels: [b.name], value: b.devices };
      },
    },
    {
      name: 'accelerator_exporter_backend_serving_last_good',
      help: 'A failing backend whose last good values are still served during the grace period: 1 yes, 0 no.',
      type: 'gauge',
      unit: '',
      labelNames: ['backend'],
      stability: 'alpha',
      *samples(s) {
        for (const b of s.backends) yield { labels: [b.name], value: b.servingLastGood ? 1 : 0 };
      },
    },
    {
      name: 'accelerator_exporter_backend_last_sample_duration_seconds',
      help: 'How long the last sample of a backend took, seconds.',
      type: 'gauge',
      unit: 'seconds',
      labelNames: ['backend'],
      stability: 'stable',
      *samples(s) {
        for (const b of s.backends) if (b.lastDurationSeconds !== undefined) yield { labels: [b.name], value: b.lastDurationSeconds };
      },
    },
    {
      name: 'accelerator_exporter_backend_last_success_timestamp_seconds',
      help: 'Unix time of the last successful sample of a backend.',
      type: 'gauge',
      unit: 'seconds',
      labelNames: ['backend'],
      stability: 'stable',
      *samples(s) {
        for (const b of s.backends) if (b.lastSuccessMs !== undefined) yield { labels: [b.name], value: b.lastSuccessMs / 1000 };
      },
    },
    {
      name: 'accelerator_exporter_backend_failures_total',
      help: 'Failed samples of a backend by reason: timeout, exit_code (tool exited non-zero), parse (unexpected output), spawn (tool could not start).',
      type: 'counter',
      unit: '',
      labelNames: ['backend', 'reason'],
      stability: 'stable',
      *samples(s) {
        // `internal` (a bug of ours) appears once it happens; the tool's reasons start at 0.
        for (const b of s.backends) for (const r of FAILURE_REASONS) if (r !== 'internal' || b.failures[r] > 0) yield { labels: [b.name, r], value: b.failures[r] };
      },
    },
    {
      name: 'accelerator_exporter_tool_starts_total',
      help: 'Vendor tool processes a backend has started.',
      type: 'counter',
      unit: '',
      labelNames: ['backend'],
      stability: 'stable',
      *samples(s) {
        for (const b of s.backends) yield { labels: [b.name], value: b.toolStarts };
      },
    },
  ];
}

const startTimeSeconds = Math.floor(Date.now() / 1000 - process.uptime());

/** Families whose values move with the clock; cheap, rendered on every scrape. */
export const SCRAPE_TIME_FAMILIES: readonly MetricFamily[] = [
  {
    name: 'accelerator_exporter_backend_last_sample_age_seconds',
    help: 'Seconds since the last successful sample of a backend.',
    type: 'gauge',
    unit: 'seconds',
    labelNames: ['backend'],
    stability: 'stable',
    *samples(s: Snapshot, nowMs: number) {
      for (const b of s.backends) if (b.lastSuccessMs !== undefined) yield { labels: [b.name], value: Math.max(0, (nowMs - b.lastSuccessMs) / 1000) };
    },
  },
  {
    name: 'process_cpu_seconds_total',
    help: 'Total user and system CPU time spent in seconds.',
    type: 'counter',
    unit: 'seconds',
    labelNames: [],
    stability: 'stable',
    *samples() {
      const u = process.cpuUsage();
      yield { labels: [], value: (u.user + u.system) / 1e6 };
    },
  },
  {
    name: 'process_resident_memory_bytes',
    help: 'Resident memory size in bytes.',
    type: 'gauge',
    unit: 'bytes',
    labelNames: [],
    stability: 'stable',
    *samples() {
      yield { labels: [], value: process.memoryUsage.rss() };
    },
  },
  {
    name: 'process_start_time_seconds',
    help: 'Start time of the process since unix epoch in seconds.',
    type: 'gauge',
    unit: 'seconds',
    labelNames: [],
    stability: 'stable',
    *samples() {
      yield { labels: [], value: startTimeSeconds };
    },
  },
];
