// Client of the kubelet PodResources v1 API (List) over its unix socket.
// List is polled on a timer and the answer cached: the kubelet rate-limits
// the service (100 QPS, burst 10) and a scrape must never wait on it. A
// missing or restarting socket leaves the cache empty and is retried with
// back-off; it is never fatal. grpc-js (about 15 MiB of RSS) is loaded on the
// first attempt that finds the socket, so a host without a kubelet never pays for it.

import { existsSync } from 'node:fs';
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { MAX_PODS_PER_NODE } from '../bounds.ts';
import { decodeListPodResourcesResponse, encodeListPodResourcesRequest } from './podresources-wire.ts';

/** The one RPC used; messages per proto/api.proto, encoded by podresources-wire.ts. */
export const LIST_METHOD = '/v1.PodResourcesLister/List';
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

/** The List answer's pods; decoding errors reject the call like any other failure. */
export function listPodResources(client: grpc.Client, deadline: number): Promise<readonly PodResources[]> {
  return new Promise((resolve, reject) => {
    const decode = (buf: Buffer) => decodeListPodResourcesResponse(buf, MAX_PODS_PER_NODE);
    client.makeUnaryRequest(LIST_METHOD, encodeListPodResourcesRequest, decode, {}, { deadline }, (err, res) => (err ? reject(err) : resolve(res!.podResources)));
  });
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
  private client: grpc.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private failuresInARow = 0;
  private st: PodResourcesState = { pods: [], reachable: false, errors: 0 };

  constructor(opts: PodResourcesPollerOptions) {
    this.opts = opts;
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

  private async connect(): Promise<grpc.Client> {
    if (this.client) return this.client;
    if (!existsSync(this.opts.socket)) throw new Error(`no socket at ${this.opts.socket}`);
    const grpc = await import('@grpc/grpc-js');
    if (this.stopped) throw new Error('stopped');
    if (this.client) return this.client;
    this.client = new grpc.Client(`unix://${this.opts.socket}`, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': MAX_RECEIVE_BYTES,
      // A restarted kubelet recreates the socket: reconnect quickly rather than after grpc's long default back-off.
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 5000,
    });
    return this.client;
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    let delay = this.opts.intervalMs;
    try {
      const pods = await listPodResources(await this.connect(), Date.now() + this.opts.timeoutMs);
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
