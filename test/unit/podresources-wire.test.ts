// The hand-written podresources codec against protobufjs (through @grpc/proto-loader and the
// vendored proto): every example response of /work/shared/k8s (copied to test/fixtures/k8s)
// encoded by protobufjs must decode to what protobufjs itself decodes; unknown fields of every
// wire type are skipped; truncated and malformed bytes throw, and over gRPC fail the call.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { listPodResources, LIST_METHOD } from '../../src/attribution/pod-resources.ts';
import { decodeListPodResourcesResponse, encodeListPodResourcesRequest, WireError } from '../../src/attribution/podresources-wire.ts';
import { MAX_PODS_PER_NODE } from '../../src/bounds.ts';
import { FIXTURES } from '../helpers/exporter.ts';
import { PROTO_PATH } from '../helpers/fake-kubelet.ts';

type Obj = Record<string, any>;

// lowerCamelCase names (the proto's JSON mapping, as in the example file), int64 as strings.
const def = protoLoader.loadSync(PROTO_PATH, { longs: String, defaults: true, arrays: true });
const list = (def['v1.PodResourcesLister'] as protoLoader.ServiceDefinition).List!;
const encode = (res: Obj): Buffer => list.responseSerialize(res);
/** protobufjs' own decoding; it writes absent sub-messages as null where ours leaves them out. */
const reference = (buf: Buffer): Obj => JSON.parse(JSON.stringify(list.responseDeserialize(buf), (_k, v) => (v === null ? undefined : v)));

const example = JSON.parse(readFileSync(path.join(FIXTURES, 'k8s/podresources-list-response.example.json'), 'utf8')) as Obj;
delete example._comment;

// Hand-built wire bytes for the cases protobufjs will not produce.
const varint = (n: bigint): number[] => {
  const out: number[] = [];
  let v = BigInt.asUintN(64, n);
  do {
    out.push(Number(v & 0x7fn) | (v > 0x7fn ? 0x80 : 0));
    v >>= 7n;
  } while (v > 0n);
  return out;
};
const tag = (field: number, wt: number) => varint(BigInt(field * 8 + wt));
const len = (field: number, bytes: number[]) => [...tag(field, 2), ...varint(BigInt(bytes.length)), ...bytes];
const str = (field: number, s: string) => len(field, [...Buffer.from(s)]);
const int = (field: number, n: bigint) => [...tag(field, 0), ...varint(n)];
/** One unknown field of each wire type: varint, fixed64, length-delimited, fixed32, and a group holding a field. */
const UNKNOWN = [...int(90, 300n), ...tag(91, 1), 1, 2, 3, 4, 5, 6, 7, 8, ...str(92, 'future'), ...tag(93, 5), 1, 2, 3, 4, ...tag(94, 3), ...int(1, 7n), ...tag(94, 4)];
const wrapPod = (container: number[]) => Buffer.from(len(1, [...str(1, 'p'), ...str(2, 'ns'), ...len(3, container)]));
const POD = { name: 'p', namespace: 'ns', cpuIds: [], memory: [] };
const CONTAINER = { name: 'c', devices: [], cpuIds: [], memory: [], dynamicResources: [] };

describe('podresources wire codec', () => {
  it('decodes every example response as protobufjs does: the whole List and each pod alone', () => {
    const responses = [example, ...example.podResources.map((p: Obj) => ({ podResources: [p] }))];
    for (const res of responses) {
      const buf = encode(res);
      assert.deepEqual(decodeListPodResourcesResponse(buf), reference(buf), JSON.stringify(res).slice(0, 120));
    }
    // The reference is not vacuous: the example's fields all came through.
    const all = decodeListPodResourcesResponse(encode(example));
    assert.equal(all.podResources.length, 7);
    assert.deepEqual(all.podResources[0]!.containers[0]!.cpuIds, ['2', '3']);
    assert.deepEqual(all.podResources[0]!.containers[0]!.devices[0]!.topology, { nodes: [{ ID: '0' }] });
    assert.equal(all.podResources.at(-1)!.containers[0]!.dynamicResources[0]!.claimResources[0]!.shareId, '3f0b6c8e-1d2a-4e5f-9a7b-8c6d5e4f3a21');
    assert.equal(all.podResources[3]!.containers[0]!.dynamicResources[0]!.claimResources[0]!.cdiDevices.length, 1);
  });

  it('decodes the fields the example lacks: memory, pod-level cpu_ids, negative and 64-bit values', () => {
    const res = {
      podResources: [
        {
          name: 'p',
          namespace: 'ns',
          cpuIds: ['-1', '9223372036854775807'],
          memory: [{ memoryType: 'hugepages-1Gi', size: '18446744073709551615', topology: { nodes: [{ ID: '1' }, { ID: '-2' }] } }],
          containers: [{ name: 'c', memory: [{ memoryType: 'memory', size: '1073741824' }], dynamicResources: [{ claimName: 'x', claimNamespace: 'ns', claimResources: [{ driverName: 'd', poolName: 'p', deviceName: 'g', shareId: '' }] }] }],
        },
      ],
    };
    const buf = encode(res);
    const got = decodeListPodResourcesResponse(buf);
    assert.deepEqual(got, reference(buf));
    assert.deepEqual(got.podResources[0]!.cpuIds, ['-1', '9223372036854775807']);
    assert.equal(got.podResources[0]!.memory[0]!.size, '18446744073709551615');
    assert.equal(got.podResources[0]!.containers[0]!.dynamicResources[0]!.claimResources[0]!.shareId, '', 'an optional field present but empty is present');
  });

  it('reads repeated int64 packed and unpacked alike', () => {
    const packed = wrapPod([...str(1, 'c'), ...len(3, [...varint(2n), ...varint(3n)])]);
    const unpacked = wrapPod([...str(1, 'c'), ...int(3, 2n), ...int(3, 3n)]);
    const want = { podResources: [{ ...POD, containers: [{ ...CONTAINER, cpuIds: ['2', '3'] }] }] };
    assert.deepEqual(decodeListPodResourcesResponse(packed), want);
    assert.deepEqual(decodeListPodResourcesResponse(unpacked), want);
  });

  it('skips unknown fields of every wire type, at the top and deep inside', () => {
    const claimResource = [...UNKNOWN, ...str(2, 'gpu.nvidia.com'), ...UNKNOWN, ...str(3, 'node-1'), ...str(4, 'gpu-0'), ...UNKNOWN];
    const dynamic = [...int(1, 1n), ...str(2, 'claim'), ...str(3, 'ns'), ...len(4, claimResource)];
    const buf = Buffer.concat([Buffer.from(UNKNOWN), wrapPod([...str(1, 'c'), ...UNKNOWN, ...len(5, dynamic)]), Buffer.from(UNKNOWN)]);
    assert.deepEqual(decodeListPodResourcesResponse(buf), {
      podResources: [{ ...POD, containers: [{ ...CONTAINER, dynamicResources: [{ claimName: 'claim', claimNamespace: 'ns', claimResources: [{ cdiDevices: [], driverName: 'gpu.nvidia.com', poolName: 'node-1', deviceName: 'gpu-0' }] }] }] }],
    });
    assert.deepEqual(reference(buf), decodeListPodResourcesResponse(buf), 'protobufjs agrees');
  });

  it('merges a sub-message sent twice, as the protobuf spec (and Go) has it, and keeps the last of a scalar sent twice', () => {
    const device = [...str(1, 'old'), ...str(1, 'nvidia.com/gpu'), ...str(2, 'GPU-a'), ...len(3, len(1, int(1, 0n))), ...len(3, len(1, int(1, 1n)))];
    const buf = wrapPod([...str(1, 'c'), ...len(2, device)]);
    const got = decodeListPodResourcesResponse(buf);
    // protobufjs keeps only the last sub-message here; the spec merges them.
    assert.deepEqual(got.podResources[0]!.containers[0]!.devices, [{ resourceName: 'nvidia.com/gpu', deviceIds: ['GPU-a'], topology: { nodes: [{ ID: '0' }, { ID: '1' }] } }]);
  });

  it('throws on a message cut inside a field, and decodes a cut at a field boundary', () => {
    const buf = encode(example);
    // Each pod is one top-level field: the List is the pods' encodings one after another.
    const ends: number[] = [];
    let at = 0;
    for (const p of example.podResources) ends.push((at += encode({ podResources: [p] }).length));
    assert.equal(at, buf.length);
    for (let k = 1; k < buf.length; k++) {
      if (ends.includes(k)) assert.equal(decodeListPodResourcesResponse(buf.subarray(0, k)).podResources.length, ends.indexOf(k) + 1);
      else assert.throws(() => decodeListPodResourcesResponse(buf.subarray(0, k)), WireError, `cut at ${k}`);
    }
  });

  it('throws on malformed bytes', () => {
    const bad: [string, number[]][] = [
      ['truncated varint', [0x0a, 0x80]],
      ['an 11-byte varint', [...tag(90, 0), ...Array(10).fill(0xff), 0x01]],
      ['wire type 7', [...tag(90, 7)]],
      ['field number 0', [0x02, 0x00]],
      ['a string field sent as a varint', [...len(1, int(1, 5n))]],
      ['an end of group with no start', [...tag(90, 4)]],
      ['a group closed by another field', [...tag(90, 3), ...tag(91, 4)]],
      ['a truncated fixed64', [...tag(90, 1), 1, 2, 3]],
    ];
    for (const [what, bytes] of bad) assert.throws(() => decodeListPodResourcesResponse(Buffer.from(bytes)), WireError, what);
  });

  it('encodes the empty ListPodResourcesRequest as protobufjs does', () => {
    assert.deepEqual(encodeListPodResourcesRequest(), list.requestSerialize({}));
  });
});

describe('listPodResources over gRPC', () => {
  /** A kubelet whose List answers with `bytes` as they are. */
  async function withKubelet(bytes: Buffer, fn: (client: grpc.Client) => Promise<void>): Promise<void> {
    const dir = mkdtempSync('/tmp/fk-');
    const server = new grpc.Server();
    const method = { path: LIST_METHOD, requestStream: false, responseStream: false, requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };
    server.addService({ List: method }, { List: (_c: unknown, cb: grpc.sendUnaryData<Buffer>) => cb(null, bytes) });
    await new Promise<void>((resolve, reject) => server.bindAsync(`unix://${dir}/kubelet.sock`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
    const client = new grpc.Client(`unix://${dir}/kubelet.sock`, grpc.credentials.createInsecure());
    try {
      await fn(client);
    } finally {
      client.close();
      server.forceShutdown();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('returns the pods of the answer', async () => {
    const buf = encode(example);
    await withKubelet(buf, async (client) => assert.deepEqual(await listPodResources(client, Date.now() + 10_000), decodeListPodResourcesResponse(buf).podResources));
  });

  it('refuses an answer listing more pods than the bound, and stops decoding there', async () => {
    const pods = (n: number) => encode({ podResources: Array.from({ length: n }, (_, i) => ({ name: `p${i}`, namespace: 'ns', containers: [{ name: 'c' }] })) });
    await withKubelet(pods(MAX_PODS_PER_NODE), async (client) => assert.equal((await listPodResources(client, Date.now() + 10_000)).length, MAX_PODS_PER_NODE));
    await withKubelet(pods(20_000), async (client) => {
      await assert.rejects(listPodResources(client, Date.now() + 10_000), (err: grpc.ServiceError) => err.code === grpc.status.INTERNAL && new RegExp(`more than ${MAX_PODS_PER_NODE} pods`).test(err.details));
    });
    assert.throws(() => decodeListPodResourcesResponse(pods(3), 2), /more than 2 pods/);
  });

  it('fails the call, without throwing out of grpc-js, when the answer does not decode', async () => {
    await withKubelet(Buffer.from([0x0a, 0x80]), async (client) => {
      await assert.rejects(listPodResources(client, Date.now() + 10_000), (err: grpc.ServiceError) => err.code === grpc.status.INTERNAL && /truncated varint/.test(err.details));
    });
  });
});
