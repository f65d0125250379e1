// Client of the kubelet PodResources v1 API (List) over its unix socket.
// List is polled on a timer and the answer cached: the kubelet rate-limits
// the service (100 QPS, burst 10) and a scrape must never wait on it. A
// missing or restarting socket leaves the cache empty and is retried with
// back-off; it is never fatal.

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';

// Resolved through the repository root so that the compiled dist/attribution/ finds the
// vendored proto in src/ (tsc copies no .proto files).
export const PROTO_PATH = fileURLToPath(new URL('../../src/attribution/proto/api.proto', import.meta.url));
/** Go clients of this API use 16 MiB; grpc-js defaults to 4 MiB, too small for big nodes. */
export const MAX_RECEIVE_BYTES = 16 * 1024 * 1024;

export interface ClaimResource {
  readonly driverName: string;
  readonly poolName: string;
  readonly deviceName: string;
  readonly shareId?: string;
}

export interface DynamicResource {
  readonly claimName: string;
  readonly claimNamespace: string;
  readonly claimResources: readonly ClaimResource[];
}

export interface ContainerDevices {
  readonly resourceName: string;
  readonly deviceIds: readonly string[];
}

export interface ContainerResources {
  readonly name: string;
  readonly devices: readonly ContainerDevices[];
  readonly dynamicResources: readonly DynamicResource[];
}

export interface PodResources {
  readonly name: string;
  readonly namespace: string;
  readonly containers: readonly ContainerResources[];
}

export function loadPodResourcesPackage(): grpc.GrpcObject {
  const def = protoLoader.loadSync(PROTO_PATH, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  return grpc.loadPackageDefinition(def);
}

type Raw = Record<string, any>;

/** The proto-loader (snake_case) message to our read-only shape; unknown/missing fields read as empty. */
export function fromListResponse(res: Raw): PodResources[] {
  return ((res.pod_resources ?? []) as Raw[]).map((p) => ({
    name: String(p.name ?? ''),
    namespace: String(p.namespace ?? ''),
    containers: ((p.containers ?? []) as Raw[]).map((c) => ({
      name: String(c.name ?? ''),
      devices: ((c.devices ?? []) as Raw[]).map((d) => ({ resourceName: String(d.resource_name ?? ''), deviceIds: ((d.device_ids ?? []) as unknown[]).map(String) })),
      dynamicResources: ((c.dynamic_resources ?? []) as Raw[]).map((d) => ({
        claimName: String(d.claim_name ?? ''),
        claimNamespace: String(d.claim_namespace ?? ''),
        claimResources: ((d.claim_resources ?? []) as Raw[]).map((r) => ({
          driverName: String(r.driver_name ?? ''),
          poolName: String(r.pool_name ?? ''),
          deviceName: String(r.device_name ?? ''),
          ...(r.share_id ? { shareId: String(r.share_id) } : {}),
        })),
      })),
    })),
  }));
}

export interface PodResourcesState {
  /** Last successful List answer; empty while the kubelet is unreachable. */
  readonly pods: readonly PodResources[];
  readonly reachable: boolean;
  readonly lastSuccessMs?: number;
  readonly errors: number;
}

export interface PodResourcesPollerOptions {
  readonly socket: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly log: Logger;
  readonly onChange: () => void;
  /** Upper bound of the reconnect back-off. */
  readonly maxBackoffMs?: number;
}

export class PodResourcesPoller {
  private readonly opts: PodResourcesPollerOptions;
  private readonly Lister: grpc.ServiceClientConstructor;
  private client: grpc.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private failuresInARow = 0;
  private st: PodResourcesState = { pods: [], reachable: false, errors: 0 };

  constructor(opts: PodResourcesPollerOptions) {
    this.opts = opts;
    this.Lister = (loadPodResourcesPackage().v1 as grpc.GrpcObject).PodResourcesLister as grpc.ServiceClientConstructor;
  }

  state(): PodResourcesState {
    return this.st;
  }

  start(): void {
    void this.tick();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.client?.close();
    this.client = undefined;
  }

  private connect(): grpc.Client {
    this.client ??= new this.Lister(`unix://${this.opts.socket}`, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': MAX_RECEIVE_BYTES,
      // A restarted kubelet recreates the socket: reconnect quickly rather than after grpc's long default back-off.
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 5000,
    });
    return this.client;
  }

  private list(): Promise<PodResources[]> {
    const client = this.connect() as grpc.Client & { List: Function };
    return new Promise((resolve, reject) => {
      client.List({}, { deadline: Date.now() + this.opts.timeoutMs }, (err: grpc.ServiceError | null, res: Raw) => (err ? reject(err) : resolve(fromListResponse(res))));
    });
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    let delay = this.opts.intervalMs;
    try {
      const pods = await this.list();
      if (this.stopped) return;
      if (!this.st.reachable) this.opts.log.info({ socket: this.opts.socket, pods: pods.length }, 'kubelet pod-resources reachable');
      this.failuresInARow = 0;
      this.st = { pods, reachable: true, lastSuccessMs: Date.now(), errors: this.st.errors };
    } catch (err) {
      if (this.stopped) return;
      if (this.st.reachable || this.failuresInARow === 0) this.opts.log.warn({ socket: this.opts.socket, err: (err as Error).message }, 'kubelet pod-resources unreachable; attribution is empty until it answers');
      this.failuresInARow++;
      // A channel that failed may hold a dead inode: start over with a fresh one.
      this.client?.close();
      this.client = undefined;
      this.st = { pods: [], reachable: false, lastSuccessMs: this.st.lastSuccessMs, errors: this.st.errors + 1 };
      delay = Math.min(this.opts.intervalMs, Math.min(this.opts.maxBackoffMs ?? 30_000, 250 * 2 ** Math.min(this.failuresInARow, 10)));
    }
    this.opts.onChange();
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), delay);
  }
}
