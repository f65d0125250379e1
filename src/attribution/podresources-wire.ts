// The protobuf wire format of the two podresources v1 messages the List call
// carries, written out by hand: loading proto/api.proto at run time
// (@grpc/proto-loader and protobufjs with its .proto parser) cost the
// exporter several MiB of RSS for one RPC. proto/api.proto stays the
// reference; field numbers below are its. Decoding follows proto3: absent
// scalars read as their defaults, repeated int64 is accepted packed and
// unpacked, a repeated singular message merges, unknown fields (newer
// kubelets) are skipped by wire type. A malformed or truncated message throws
// (grpc-js then fails the call; the poller keeps retrying).

import type { ClaimResource, ContainerDevices, ContainerResources, DynamicResource, PodResources } from './pod-resources.ts';

/** int64/uint64 values are decimal strings, as the proto's JSON mapping (and proto-loader's `longs: String`) has them. */
export interface NUMANode {
  readonly ID: string;
}
export interface TopologyInfo {
  readonly nodes: readonly NUMANode[];
}
export interface ContainerMemory {
  readonly memoryType: string;
  readonly size: string;
  readonly topology?: TopologyInfo;
}
export interface CDIDevice {
  readonly name: string;
}
export interface ClaimResourceMessage extends ClaimResource {
  readonly cdiDevices: readonly CDIDevice[];
}
export interface DynamicResourceMessage extends DynamicResource {
  readonly claimResources: readonly ClaimResourceMessage[];
}
export interface ContainerDevicesMessage extends ContainerDevices {
  readonly topology?: TopologyInfo;
}
export interface ContainerResourcesMessage extends ContainerResources {
  readonly devices: readonly ContainerDevicesMessage[];
  readonly cpuIds: readonly string[];
  readonly memory: readonly ContainerMemory[];
  readonly dynamicResources: readonly DynamicResourceMessage[];
}
export interface PodResourcesMessage extends PodResources {
  readonly containers: readonly ContainerResourcesMessage[];
  readonly cpuIds: readonly string[];
  readonly memory: readonly ContainerMemory[];
}
export interface ListPodResourcesResponse {
  readonly podResources: readonly PodResourcesMessage[];
}

const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const START_GROUP = 3;
const END_GROUP = 4;
const FIXED32 = 5;

export class WireError extends Error {}

/** ListPodResourcesRequest has no fields: its encoding is empty. */
export function encodeListPodResourcesRequest(): Buffer {
  return Buffer.alloc(0);
}

/** A cursor over one message's bytes [pos, end). */
class Reader {
  readonly buf: Buffer;
  pos: number;
  readonly end: number;

  constructor(buf: Buffer, pos: number, end: number) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  more(): boolean {
    return this.pos < this.end;
  }

  varint(): bigint {
    let v = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.end) throw new WireError('truncated varint');
      const b = this.buf[this.pos++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return v;
    }
    throw new WireError('varint longer than 10 bytes');
  }

  /** Tags and lengths: unsigned and small, read without BigInt (they are most of the varints). */
  uint(): number {
    let v = 0;
    for (let mul = 1, i = 0; i < 10; i++, mul *= 128) {
      if (this.pos >= this.end) throw new WireError('truncated varint');
      const b = this.buf[this.pos++]!;
      v += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (v > Number.MAX_SAFE_INTEGER) throw new WireError('tag or length out of range');
        return v;
      }
    }
    throw new WireError('varint longer than 10 bytes');
  }

  /** The sub-reader of a length-delimited field. */
  sub(): Reader {
    const len = this.uint();
    if (len > this.end - this.pos) throw new WireError('truncated length-delimited field');
    const r = new Reader(this.buf, this.pos, this.pos + len);
    this.pos += len;
    return r;
  }

  string(): string {
    const r = this.sub();
    return this.buf.toString('utf8', r.pos, r.end);
  }

  skip(wireType: number, field: number): void {
    switch (wireType) {
      case VARINT:
        this.varint();
        return;
      case FIXED64:
        return this.advance(8);
      case LEN:
        this.sub();
        return;
      case FIXED32:
        return this.advance(4);
      case START_GROUP:
        for (;;) {
          const [f, wt] = this.tag();
          if (wt === END_GROUP) {
            if (f !== field) throw new WireError(`group ${field} closed by ${f}`);
            return;
          }
          this.skip(wt, f);
        }
      default:
        throw new WireError(`wire type ${wireType} of field ${field}`);
    }
  }

  tag(): [field: number, wireType: number] {
    const t = this.uint();
    const field = Math.floor(t / 8);
    if (field === 0) throw new WireError('field number 0');
    return [field, t & 7];
  }

  private advance(n: number): void {
    if (n > this.end - this.pos) throw new WireError('truncated fixed-width field');
    this.pos += n;
  }
}

/**
 * Walks a message's fields, handing each known (field, wire type) to `on`;
 * `on` returns false for a field it does not know, which is skipped.
 */
function fields(r: Reader, on: (field: number, wireType: number) => boolean): void {
  while (r.more()) {
    const [field, wt] = r.tag();
    if (wt === END_GROUP) throw new WireError(`unexpected end of group ${field}`);
    if (!on(field, wt)) r.skip(wt, field);
  }
}

/** A known field arrived with a wire type its declared type never has: the bytes are not this message. */
function expect(field: number, wt: number, want: number): void {
  if (wt !== want) throw new WireError(`field ${field} has wire type ${wt}, expected ${want}`);
}

const int64 = (r: Reader) => BigInt.asIntN(64, r.varint()).toString();
const uint64 = (r: Reader) => BigInt.asUintN(64, r.varint()).toString();

/** `repeated int64`: packed (one length-delimited run) or one varint per element. */
function int64s(r: Reader, field: number, wt: number, into: string[]): void {
  if (wt === VARINT) into.push(int64(r));
  else if (wt === LEN) {
    const p = r.sub();
    while (p.more()) into.push(int64(p));
  } else expect(field, wt, VARINT);
}

function str(r: Reader, field: number, wt: number): string {
  expect(field, wt, LEN);
  return r.string();
}

function msg<T>(r: Reader, field: number, wt: number, decode: (r: Reader) => T): T {
  expect(field, wt, LEN);
  return decode(r.sub());
}

function numaNode(r: Reader): NUMANode {
  let ID = '0';
  fields(r, (f, wt) => {
    if (f !== 1) return false;
    expect(f, wt, VARINT);
    ID = int64(r);
    return true;
  });
  return { ID };
}

function topologyInfo(r: Reader): TopologyInfo {
  const nodes: NUMANode[] = [];
  fields(r, (f, wt) => {
    if (f !== 1) return false;
    nodes.push(msg(r, f, wt, numaNode));
    return true;
  });
  return { nodes };
}

/** A singular message field seen twice merges; for TopologyInfo that joins its nodes. */
const mergeTopology = (a: TopologyInfo | undefined, b: TopologyInfo): TopologyInfo => (a ? { nodes: [...a.nodes, ...b.nodes] } : b);

function containerMemory(r: Reader): ContainerMemory {
  let memoryType = '';
  let size = '0';
  let topology: TopologyInfo | undefined;
  fields(r, (f, wt) => {
    if (f === 1) memoryType = str(r, f, wt);
    else if (f === 2) {
      expect(f, wt, VARINT);
      size = uint64(r);
    } else if (f === 3) topology = mergeTopology(topology, msg(r, f, wt, topologyInfo));
    else return false;
    return true;
  });
  return { memoryType, size, ...(topology ? { topology } : {}) };
}

function containerDevices(r: Reader): ContainerDevicesMessage {
  let resourceName = '';
  const deviceIds: string[] = [];
  let topology: TopologyInfo | undefined;
  fields(r, (f, wt) => {
    if (f === 1) resourceName = str(r, f, wt);
    else if (f === 2) deviceIds.push(str(r, f, wt));
    else if (f === 3) topology = mergeTopology(topology, msg(r, f, wt, topologyInfo));
    else return false;
    return true;
  });
  return { resourceName, deviceIds, ...(topology ? { topology } : {}) };
}

function cdiDevice(r: Reader): CDIDevice {
  let name = '';
  fields(r, (f, wt) => {
    if (f !== 1) return false;
    name = str(r, f, wt);
    return true;
  });
  return { name };
}

function claimResource(r: Reader): ClaimResourceMessage {
  const cdiDevices: CDIDevice[] = [];
  let driverName = '';
  let poolName = '';
  let deviceName = '';
  // `optional`: presence is meaningful (an empty share ID is still a share).
  let shareId: string | undefined;
  fields(r, (f, wt) => {
    if (f === 1) cdiDevices.push(msg(r, f, wt, cdiDevice));
    else if (f === 2) driverName = str(r, f, wt);
    else if (f === 3) poolName = str(r, f, wt);
    else if (f === 4) deviceName = str(r, f, wt);
    else if (f === 5) shareId = str(r, f, wt);
    else return false;
    return true;
  });
  return { cdiDevices, driverName, poolName, deviceName, ...(shareId !== undefined ? { shareId } : {}) };
}

function dynamicResource(r: Reader): DynamicResourceMessage {
  let claimName = '';
  let claimNamespace = '';
  const claimResources: ClaimResourceMessage[] = [];
  fields(r, (f, wt) => {
    // Field 1 is not in the API (numbering starts at 2): like any unknown field it is skipped.
    if (f === 2) claimName = str(r, f, wt);
    else if (f === 3) claimNamespace = str(r, f, wt);
    else if (f === 4) claimResources.push(msg(r, f, wt, claimResource));
    else return false;
    return true;
  });
  return { claimName, claimNamespace, claimResources };
}

function containerResources(r: Reader): ContainerResourcesMessage {
  let name = '';
  const devices: ContainerDevicesMessage[] = [];
  const cpuIds: string[] = [];
  const memory: ContainerMemory[] = [];
  const dynamicResources: DynamicResourceMessage[] = [];
  fields(r, (f, wt) => {
    if (f === 1) name = str(r, f, wt);
    else if (f === 2) devices.push(msg(r, f, wt, containerDevices));
    else if (f === 3) int64s(r, f, wt, cpuIds);
    else if (f === 4) memory.push(msg(r, f, wt, containerMemory));
    else if (f === 5) dynamicResources.push(msg(r, f, wt, dynamicResource));
    else return false;
    return true;
  });
  return { name, devices, cpuIds, memory, dynamicResources };
}

function podResources(r: Reader): PodResourcesMessage {
  let name = '';
  let namespace = '';
  const containers: ContainerResourcesMessage[] = [];
  const cpuIds: string[] = [];
  const memory: ContainerMemory[] = [];
  fields(r, (f, wt) => {
    if (f === 1) name = str(r, f, wt);
    else if (f === 2) namespace = str(r, f, wt);
    else if (f === 3) containers.push(msg(r, f, wt, containerResources));
    else if (f === 4) int64s(r, f, wt, cpuIds);
    else if (f === 5) memory.push(msg(r, f, wt, containerMemory));
    else return false;
    return true;
  });
  return { name, namespace, containers, cpuIds, memory };
}

/** Past `maxPods` pods decoding stops with a WireError, so the memory an answer costs is bounded by the pods kept. */
export function decodeListPodResourcesResponse(buf: Buffer, maxPods = Infinity): ListPodResourcesResponse {
  const podResourcesList: PodResourcesMessage[] = [];
  const r = new Reader(buf, 0, buf.length);
  fields(r, (f, wt) => {
    if (f !== 1) return false;
    if (podResourcesList.length >= maxPods) throw new WireError(`the answer lists more than ${maxPods} pods`);
    podResourcesList.push(msg(r, f, wt, podResources));
    return true;
  });
  return { podResources: podResourcesList };
}
