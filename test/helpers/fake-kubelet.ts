// A fake kubelet PodResources server: grpc-js on a unix socket in a short
// temp dir, speaking the vendored proto, answering List from a scenario the
// test can swap, stop (kubelet down; its temp dir is removed) and restart on the same path.

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './exporter.ts';

/** The vendored proto: the fake kubelet encodes with proto-loader, independently of the exporter's hand-written codec. */
export const PROTO_PATH = path.join(ROOT, 'src/attribution/proto/api.proto');

export function loadPodResourcesPackage(options: protoLoader.Options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true }): grpc.GrpcObject {
  return grpc.loadPackageDefinition(protoLoader.loadSync(PROTO_PATH, options));
}

export interface FakeKubelet {
  readonly socket: string;
  /** proto-loader (snake_case) ListPodResourcesResponse. */
  response: Record<string, unknown>;
  lists: number;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function fakeKubelet(response: Record<string, unknown>): FakeKubelet {
  // /tmp, not os.tmpdir(): unix socket paths are limited to 108 bytes.
  const dir = mkdtempSync('/tmp/fk-');
  const socket = path.join(dir, 'kubelet.sock');
  const pkg = loadPodResourcesPackage();
  const service = ((pkg.v1 as grpc.GrpcObject).PodResourcesLister as grpc.ServiceClientConstructor).service;
  let server: grpc.Server | undefined;
  const fk: FakeKubelet = {
    socket,
    response,
    lists: 0,
    async start() {
      // A restart after stop() binds the same path again.
      mkdirSync(dir, { recursive: true });
      rmSync(socket, { force: true });
      server = new grpc.Server();
      server.addService(service, {
        List: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => {
          fk.lists++;
          cb(null, fk.response);
        },
        GetAllocatableResources: (_c: unknown, cb: grpc.sendUnaryData<unknown>) => cb({ code: grpc.status.UNIMPLEMENTED }, null),
        Get: (_c: unknown, cb: grpc.sendUnaryData<unknown>) => cb({ code: grpc.status.UNIMPLEMENTED }, null),
      });
      await new Promise<void>((resolve, reject) => server!.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
    },
    async stop() {
      server?.forceShutdown();
      server = undefined;
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return fk;
}

/** Shorthands for the proto messages, snake_case as proto-loader's keepCase wants. */
export const devices = (resource_name: string, ...device_ids: string[]) => ({ resource_name, device_ids });
export const claim = (claim_namespace: string, claim_name: string, driver_name: string, pool_name: string, device_name: string, share_id?: string) => ({
  claim_namespace,
  claim_name,
  claim_resources: [{ driver_name, pool_name, device_name, ...(share_id ? { share_id } : {}) }],
});
export const pod = (namespace: string, name: string, containers: { name: string; devices?: unknown[]; dynamic_resources?: unknown[] }[]) => ({ namespace, name, containers });
