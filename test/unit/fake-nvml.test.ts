// The fake libnvidia-ml (test/fake-nvml): built against NVIDIA's nvml.h,
// exporting only names the real library exports, and serving each capture's
// values through the C ABI, as nvml-dump (a C caller that loads it by path)
// receives them. Then each failure mode the NVML backend's tests rely on.

import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { readCapture } from '../fake-tools/lib/capture.mjs';
import { nvml } from '../fake-nvml/header.ts';
import { FIXTURES } from '../helpers/exporter.ts';
import { buildFakeNvml, buildNvmlDump, captureState, writeFakeNvmlState } from '../helpers/fake-nvml.ts';

const run = promisify(execFile);
const capture = (name: string) => path.join(FIXTURES, 'nvidia', `capture_${name}_linux.txt`);
const H100 = capture('h100-80gb-hbm3_590.48.01');
const H100_MIG = capture('h100-80gb-hbm3-mig_590.48.01');
const RTX = capture('rtx-2080-super_610.57.04');

let lib: string;
let dumpBin: string;
let dir: string;

before(async () => {
  [lib, dumpBin] = await Promise.all([buildFakeNvml(), buildNvmlDump()]);
  dir = mkdtempSync(path.join(tmpdir(), 'fake-nvml-test-'));
});
const children: ChildProcess[] = [];
after(() => {
  // A failed assertion can leave a dump blocked in a hanging call or an event wait.
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** nvml-dump as a child process whose stdout the test reads while it runs. */
function spawnDump(args: string[], env: Record<string, string>): ChildProcess & { stdout: NodeJS.ReadableStream } {
  const child = spawn(dumpBin, [lib, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return child as ChildProcess & { stdout: NodeJS.ReadableStream };
}

let n = 0;
function stateFile(text: string): string {
  const file = path.join(dir, `state-${n++}.txt`);
  writeFakeNvmlState(file, text);
  return file;
}

async function dump(state: string, args: string[] = [], env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await run(dumpBin, [lib, ...args], {
    env: { ...process.env, FAKE_NVML_STATE: state, ...env },
    timeout: 30_000,
  });
  return stdout;
}

/** key -> value of state-format text, comments dropped. */
function parse(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.indexOf('=');
    m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}

describe('fake libnvidia-ml: the library', () => {
  it('exports only functions the real libnvidia-ml.so.1 exports, under their versioned names', async () => {
    const { stdout } = await run('nm', ['-D', '--defined-only', lib]);
    const ours = stdout
      .split('\n')
      .map((l) => l.trim().split(/\s+/)[2])
      .filter((s): s is string => !!s && s.startsWith('nvml'));
    for (const cap of [H100, RTX]) {
      const real = new Set(readCapture(cap).get('capabilities :: nvml-symbols')!.trim().split('\n'));
      assert.deepEqual(
        ours.filter((s) => !real.has(s)),
        [],
        `symbols the real library (${path.basename(cap)}) lacks`,
      );
    }
    for (const versioned of [
      'nvmlInit_v2',
      'nvmlDeviceGetCount_v2',
      'nvmlDeviceGetHandleByIndex_v2',
      'nvmlDeviceGetPciInfo_v3',
      'nvmlDeviceGetMemoryInfo_v2',
      'nvmlDeviceGetComputeRunningProcesses_v3',
      'nvmlEventSetWait_v2',
      'nvmlDeviceGetAttributes_v2',
    ])
      assert.ok(ours.includes(versioned), versioned);
    assert.ok(!ours.includes('nvmlInit'), 'the unversioned nvmlInit is the header-mapped nvmlInit_v2');
  });
});

describe('fake libnvidia-ml: building it', () => {
  it('fails with a message naming the missing compiler', async () => {
    const helper = new URL('../helpers/fake-nvml.ts', import.meta.url).pathname;
    const script = `import(${JSON.stringify(helper)}).then((m) => m.buildFakeNvml()).then(() => process.exit(0), (e) => { console.error(e.message); process.exit(1); })`;
    const r = await run(process.execPath, ['-e', script], { env: { ...process.env, CC: '/nonexistent/cc' } }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), 'the fake libnvidia-ml needs a C compiler: `/nonexistent/cc` was not found (Debian: apt-get install gcc libc6-dev)');
  });
});

describe('fake libnvidia-ml: capture values through the C ABI', () => {
  for (const [name, cap, states] of [
    ['H100', H100, ['idle', 'load']],
    ['H100 MIG', H100_MIG, ['idle', 'load']],
    ['RTX 2080 SUPER', RTX, ['idle', 'load']],
  ] as const) {
    for (const state of states) {
      it(`${name} ${state}: a caller receives every value of the state generated from the capture`, async () => {
        const expected = parse(captureState(cap, { state }));
        const got = parse(await dump(stateFile(captureState(cap, { state }))));
        const missing = [...expected].filter(([k, v]) => got.get(k) !== v).map(([k, v]) => `${k}=${v} (got ${got.get(k)})`);
        assert.deepEqual(missing, []);
      });
    }
  }

  for (const xml of [
    'a100-sxm4-40gb-mig_510.47.03',
    'a100-sxm4-80gb-x4-mig_535.54.03',
    'a10g_515.105.01',
    'rtx-4000-sff-ada_595.84',
    'rtx-4090_535.86.05',
    'rtx-a5000-x2_590.44.01',
    'rtx-pro-6000-blackwell-maxq_590.44.01',
    'tesla-t4_515.105.01',
  ]) {
    it(`nvidia-smi -q -x ${xml}: a caller receives every value of the state generated from the XML`, async () => {
      const file = path.join(FIXTURES, 'nvidia', `nvidia-smi-q-x_${xml}.xml`);
      const expected = parse(captureState(file));
      assert.ok(expected.size > 90, `${expected.size} state lines`);
      const got = parse(await dump(stateFile(captureState(file))));
      const missing = [...expected].filter(([k, v]) => got.get(k) !== v).map(([k, v]) => `${k}=${v} (got ${got.get(k)})`);
      assert.deepEqual(missing, []);
    });
  }

  it('two RTX A5000 from one XML, and an A100 with MIG devices from another', async () => {
    const two = parse(await dump(stateFile(captureState(path.join(FIXTURES, 'nvidia', 'nvidia-smi-q-x_rtx-a5000-x2_590.44.01.xml')))));
    assert.equal(two.get('nvmlDeviceGetCount'), '2');
    assert.deepEqual(
      [0, 1].map((i) => two.get(`device.${i}.nvmlDeviceGetName`)),
      ['NVIDIA RTX A5000', 'NVIDIA RTX A5000'],
    );
    assert.notEqual(two.get('device.0.nvmlDeviceGetUUID'), two.get('device.1.nvmlDeviceGetUUID'));
    const a100 = parse(await dump(stateFile(captureState(path.join(FIXTURES, 'nvidia', 'nvidia-smi-q-x_a100-sxm4-40gb-mig_510.47.03.xml')))));
    assert.equal(a100.get('device.0.nvmlDeviceGetMigMode.current'), '1');
    assert.equal(a100.get('device.0.mig.0.nvmlDeviceGetAttributes.memorySizeMB'), '19968');
    assert.match(a100.get('device.0.mig.0.nvmlDeviceGetUUID') ?? '', /^MIG-/);
  });

  it('H100 load: the capture values in NVML units', async () => {
    const got = parse(await dump(stateFile(captureState(H100))));
    // Literal values of the capture's "load :: query-gpu" row and -q section.
    assert.equal(got.get('nvmlSystemGetDriverVersion'), '590.48.01');
    assert.equal(got.get('nvmlDeviceGetCount'), '1');
    assert.equal(got.get('device.0.nvmlDeviceGetName'), 'NVIDIA H100 80GB HBM3');
    assert.equal(got.get('device.0.nvmlDeviceGetUUID'), 'GPU-00000000-0000-0000-0000-000000000000');
    assert.equal(got.get('device.0.nvmlDeviceGetPciInfo.busId'), '00000000:00:09.0');
    assert.equal(got.get('device.0.nvmlDeviceGetPciInfo.pciDeviceId'), '0x233010DE');
    assert.equal(got.get('device.0.nvmlDeviceGetPowerUsage'), '631950', '631.95 W');
    assert.equal(got.get('device.0.nvmlDeviceGetEnforcedPowerLimit'), '700000', '700.00 W');
    assert.equal(got.get('device.0.nvmlDeviceGetMemoryInfo.used'), String(19818 * 1048576), '19818 MiB');
    assert.equal(got.get('device.0.nvmlDeviceGetMemoryInfo.total'), String(81559 * 1048576), '81559 MiB');
    assert.equal(got.get('device.0.nvmlDeviceGetUtilizationRates.gpu'), '100');
    assert.equal(got.get('device.0.nvmlDeviceGetUtilizationRates.memory'), '11');
    assert.equal(got.get('device.0.nvmlDeviceGetTemperature.NVML_TEMPERATURE_GPU'), '59');
    assert.equal(got.get(`device.0.nvmlDeviceGetFieldValues.${nvml('NVML_FI_DEV_MEMORY_TEMP')}`), 'ui:54');
    assert.equal(got.get('device.0.nvmlDeviceGetClockInfo.NVML_CLOCK_SM'), '1980');
    assert.equal(got.get('device.0.nvmlDeviceGetMaxClockInfo.NVML_CLOCK_MEM'), '2619');
    assert.equal(got.get('device.0.nvmlDeviceGetSupportedClocksEventReasons'), '0x00000000000001FF');
    assert.equal(got.get('device.0.nvmlDeviceGetPerformanceState'), '0', 'P0');
    assert.equal(got.get('device.0.nvmlDeviceGetPcieReplayCounter'), '9', '-q: Replays Since Reset');
    assert.equal(got.get('device.0.nvmlDeviceGetPcieThroughput.NVML_PCIE_UTIL_RX_BYTES'), '6346', '-q: 6346 KB/s');
    assert.equal(got.get('device.0.nvmlDeviceGetFanSpeed'), '!NOT_SUPPORTED', 'fan.speed [N/A]');
    assert.equal(got.get('device.0.nvmlDeviceGetApplicationsClock.NVML_CLOCK_GRAPHICS'), '!DEPRECATED');
    assert.equal(got.get('device.0.nvmlDeviceGetComputeRunningProcesses.2.pid'), '11345');
    assert.equal(got.get('device.0.nvmlDeviceGetComputeRunningProcesses.2.usedGpuMemory'), String(15690 * 1048576));
    assert.equal(got.get('nvmlSystemGetProcessName.11345'), './gpu_burn');
    assert.equal(got.get('device.0.nvmlDeviceGetProcessUtilization.0.pid'), '11345', 'pmon: gpu_burn sm 99 mem 10');
    assert.equal(got.get('device.0.nvmlDeviceGetProcessUtilization.0.smUtil'), '99');
    assert.equal(got.get('device.0.nvmlDeviceGetNvLinkState.17'), '1', 'nvlink -s lists 18 links');
    assert.equal(got.get('device.0.nvmlDeviceGetMigMode.current'), '0');
  });

  it('H100 MIG: four MIG devices with their own memory and processes', async () => {
    const got = parse(await dump(stateFile(captureState(H100_MIG))));
    assert.equal(got.get('device.0.nvmlDeviceGetMigMode.current'), '1');
    assert.equal(got.get('device.0.nvmlDeviceGetUtilizationRates.gpu'), '!NOT_SUPPORTED', 'N/A with MIG on');
    const migs = [0, 1, 2, 3].map((m) => ({
      uuid: got.get(`device.0.mig.${m}.nvmlDeviceGetUUID`),
      gi: got.get(`device.0.mig.${m}.nvmlDeviceGetGpuInstanceId`),
      total: got.get(`device.0.mig.${m}.nvmlDeviceGetMemoryInfo.total`),
      used: got.get(`device.0.mig.${m}.nvmlDeviceGetMemoryInfo.used`),
    }));
    const MiB = (x: number) => String(x * 1048576);
    assert.deepEqual(migs, [
      { uuid: 'MIG-00000000-0000-0000-0000-000000000000', gi: '2', total: MiB(40448), used: MiB(11091) },
      { uuid: 'MIG-00000001-0000-0000-0000-000000000001', gi: '3', total: MiB(20096), used: MiB(17) },
      { uuid: 'MIG-00000002-0000-0000-0000-000000000002', gi: '9', total: MiB(9984), used: MiB(9) },
      { uuid: 'MIG-00000003-0000-0000-0000-000000000003', gi: '10', total: MiB(9984), used: MiB(9) },
    ]);
    assert.equal(got.get('device.0.mig.0.nvmlDeviceGetName'), 'NVIDIA H100 80GB HBM3 MIG 3g.40gb');
    assert.equal(got.get('device.0.mig.0.nvmlDeviceGetComputeRunningProcesses.2.pid'), '21198');
    assert.equal(got.get('device.0.mig.0.nvmlDeviceGetComputeRunningProcesses.2.usedGpuMemory'), MiB(7484));
    assert.equal(got.get('device.0.mig.1.nvmlDeviceGetComputeRunningProcesses.0.pid'), undefined, 'nothing runs in GI 3');
    assert.equal(got.get('device.0.nvmlDeviceGetComputeRunningProcesses.0.gpuInstanceId'), '2');
  });

  it('RTX 2080 SUPER: a GeForce with a fan and no ECC', async () => {
    const got = parse(await dump(stateFile(captureState(RTX))));
    assert.equal(got.get('device.0.nvmlDeviceGetName'), 'NVIDIA GeForce RTX 2080 SUPER');
    assert.equal(got.get('nvmlSystemGetDriverVersion'), '610.57.04', 'kmd_version: 610 deprecates driver_version');
    assert.equal(got.get('nvmlSystemGetCudaDriverVersion'), '13030', 'CUDA UMD version 13.3');
    assert.match(got.get('device.0.nvmlDeviceGetFanSpeed') ?? '', /^\d+$/);
    assert.equal(got.get('device.0.nvmlDeviceGetNumFans'), '1');
    assert.equal(got.get('device.0.nvmlDeviceGetEccMode.current'), '!NOT_SUPPORTED');
    assert.equal(got.get('device.0.nvmlDeviceGetMigMode.current'), '!NOT_SUPPORTED');
  });

  it("nvml-dump's output is itself a state file: a recorded machine replays unchanged", async () => {
    for (const cap of [H100, H100_MIG]) {
      const first = await dump(stateFile(captureState(cap)), ['gpm', '1']);
      const second = await dump(stateFile(first), ['gpm', '1']);
      assert.equal(second, first);
    }
  });

  it('repeats the captured GPU with its own uuid, bus id and pids, as the fake nvidia-smi does', async () => {
    const got = parse(await dump(stateFile(captureState(H100, { gpus: 3 }))));
    assert.equal(got.get('nvmlDeviceGetCount'), '3');
    assert.equal(got.get('device.2.nvmlDeviceGetUUID'), 'GPU-00000000-0000-0000-0000-000000000002');
    assert.equal(got.get('device.2.nvmlDeviceGetPciInfo.busId'), '00000000:12:09.0');
    assert.equal(got.get('device.2.nvmlDeviceGetPciInfo.bus'), '0x12');
    assert.equal(got.get('device.2.nvmlDeviceGetComputeRunningProcesses.2.pid'), String(11345 + 200000));
    assert.equal(got.get('device.2.nvmlDeviceGetPowerUsage'), '631950');
  });
});

describe('fake libnvidia-ml: failure modes', () => {
  it('nvmlInit fails with the configured error (driver not loaded)', async () => {
    assert.equal(await dump(stateFile(captureState(H100, {}, ['nvmlInit=!DRIVER_NOT_LOADED']))), 'nvmlInit=!DRIVER_NOT_LOADED\n');
  });

  it('without a readable state file nvmlInit fails and says why on stderr', async () => {
    const r = await run(dumpBin, [lib], { env: { ...process.env, FAKE_NVML_STATE: path.join(dir, 'absent.txt') } });
    assert.equal(r.stdout, 'nvmlInit=!UNKNOWN\n');
    assert.match(r.stderr, /fake-nvml: cannot read the state file named by FAKE_NVML_STATE/);
  });

  it('one lost GPU answers GPU_IS_LOST to every call while the others answer normally', async () => {
    const got = parse(await dump(stateFile(captureState(H100, { gpus: 2 }, ['device.1.every_call=!GPU_IS_LOST']))));
    assert.equal(got.get('device.1.nvmlDeviceGetHandleByIndex'), '!GPU_IS_LOST');
    assert.equal(got.get('device.1.nvmlDeviceGetName'), undefined);
    assert.equal(got.get('device.0.nvmlDeviceGetName'), 'NVIDIA H100 80GB HBM3');
  });

  it('a single call can fail NOT_SUPPORTED while the rest of the device answers', async () => {
    const got = parse(await dump(stateFile(captureState(H100, {}, ['device.0.nvmlDeviceGetPowerUsage=!NOT_SUPPORTED']))));
    assert.equal(got.get('device.0.nvmlDeviceGetPowerUsage'), '!NOT_SUPPORTED');
    assert.equal(got.get('device.0.nvmlDeviceGetEnforcedPowerLimit'), '700000');
  });

  it('a call hangs while a file exists, and returns once it is removed', async () => {
    const gate = path.join(dir, 'hang-gate');
    writeFileSync(gate, '');
    const state = stateFile(captureState(H100, {}, [`device.0.hang.nvmlDeviceGetPowerUsage=while:${gate}`]));
    const child = spawnDump([], { FAKE_NVML_STATE: state });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const early = await Promise.race([exited.then(() => 'exited'), new Promise((r) => setTimeout(r, 500, 'still running'))]);
    assert.equal(early, 'still running', 'nvmlDeviceGetPowerUsage blocks while the gate file exists');
    rmSync(gate);
    assert.equal(await exited, 0);
    assert.equal(parse(out).get('device.0.nvmlDeviceGetPowerUsage'), '631950');
  });

  it("a hanging call blocks only its own thread: the caller's other threads keep calling", async () => {
    const gate = path.join(dir, 'hang-gate-2');
    writeFileSync(gate, '');
    const state = stateFile(captureState(H100, {}, [`device.0.hang.nvmlDeviceGetPowerUsage=while:${gate}`]));
    const child = spawnDump(['hang-probe'], { FAKE_NVML_STATE: state });
    let out = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const meanwhile = new Promise<void>((resolve) =>
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve();
      }),
    );
    await meanwhile;
    assert.equal(out, 'meanwhile nvmlDeviceGetName=NVIDIA H100 80GB HBM3 nvmlDeviceGetCount=1\n', 'answered while PowerUsage hangs');
    rmSync(gate);
    assert.equal(await exited, 0);
    assert.equal(out.split('\n')[1], 'hung call returned 631950');
  });

  it('XID events appended while a caller waits are delivered once each, in order', async () => {
    const events = path.join(dir, 'xid-events');
    writeFileSync(events, '');
    const state = stateFile(
      captureState(H100, {}, ['# constructed: the capture has no event types', `device.0.nvmlDeviceGetSupportedEventTypes=${nvml('nvmlEventTypeXidCriticalError')}`]),
    );
    const child = spawnDump(['events', '2'], { FAKE_NVML_STATE: state, FAKE_NVML_EVENTS: events });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await new Promise((r) => setTimeout(r, 300));
    appendFileSync(events, '0 79\n');
    await new Promise((r) => setTimeout(r, 300));
    appendFileSync(events, '# a comment line is skipped\n0 48 2 0\n');
    assert.equal(await exited, 0);
    const lines = out.split('\n').filter((l) => l.startsWith('event.') || l.startsWith('nvmlEventSetWait') || l.includes('RegisterEvents'));
    assert.deepEqual(lines, [
      'device.0.nvmlDeviceRegisterEvents=ok',
      'event.0=0 79 4294967295 4294967295',
      'event.1=0 48 2 0',
      'nvmlEventSetWait=!TIMEOUT',
    ]);
  });

  it('XID events written before the caller subscribes arrive; a re-created event set does not get them again', async () => {
    const events = path.join(dir, 'early-events');
    writeFileSync(events, '0 79\n0 48\n');
    const state = stateFile(captureState(H100, {}, [`device.0.nvmlDeviceGetSupportedEventTypes=${nvml('nvmlEventTypeXidCriticalError')}`, `events_file=${events}`]));
    const out = await dump(state, ['events', '0', 'resubscribe']);
    assert.deepEqual(
      out.split('\n').filter((l) => /event\.|EventSetWait/.test(l)),
      ['event.0=0 79 4294967295 4294967295', 'event.1=0 48 4294967295 4294967295', 'nvmlEventSetWait=!TIMEOUT', 'resubscribed.nvmlEventSetWait=!TIMEOUT'],
    );
  });

  it('registering for XID events fails NOT_SUPPORTED when the device does not list them', async () => {
    const got = await dump(stateFile(captureState(H100)), ['events', '0']);
    assert.match(got, /^device\.0\.nvmlDeviceRegisterEvents=!NOT_SUPPORTED$/m);
  });

  it('GPM: metrics from two samples where supported, per GPU and per MIG instance; none where not', async () => {
    const SM = nvml('NVML_GPM_METRIC_SM_UTIL');
    const TENSOR = nvml('NVML_GPM_METRIC_ANY_TENSOR_UTIL');
    const DRAM = nvml('NVML_GPM_METRIC_DRAM_BW_UTIL');
    const constructed = [
      '# constructed GPM values: the captures hold none',
      'device.0.nvmlGpmQueryDeviceSupport=1',
      `device.0.nvmlGpmMetricsGet.${SM}=62.5`,
      `device.0.nvmlGpmMetricsGet.${TENSOR}=41.25`,
      `device.0.mig.0.nvmlGpmMetricsGet.${SM}=80`,
      `device.0.mig.0.nvmlGpmMetricsGet.${DRAM}=12.5`,
    ];
    const got = parse(await dump(stateFile(captureState(H100_MIG, {}, constructed)), ['gpm', '5']));
    assert.equal(got.get(`device.0.nvmlGpmMetricsGet.${SM}`), '62.5');
    assert.equal(got.get(`device.0.nvmlGpmMetricsGet.${TENSOR}`), '41.25');
    assert.equal(got.get(`device.0.nvmlGpmMetricsGet.${DRAM}`), '!NOT_SUPPORTED', 'a metric the state lacks');
    assert.equal(got.get(`device.0.mig.0.nvmlGpmMetricsGet.${SM}`), '80');
    assert.equal(got.get(`device.0.mig.0.nvmlGpmMetricsGet.${DRAM}`), '12.5');
    assert.equal(got.get(`device.0.mig.1.nvmlGpmMetricsGet.${SM}`), '!NOT_SUPPORTED');

    const off = parse(await dump(stateFile(captureState(H100, {}, ['device.0.nvmlGpmQueryDeviceSupport=0'])), ['gpm', '5']));
    assert.equal(off.get('device.0.nvmlGpmQueryDeviceSupport'), '0');
    assert.deepEqual([...off.keys()].filter((k) => k.includes('nvmlGpmMetricsGet')), []);
  });

  it('per-process utilisation: several processes with their own SM share on one shared GPU', async () => {
    const pu = 'device.0.nvmlDeviceGetProcessUtilization';
    const constructed = [
      '# constructed: three processes time-sharing the GPU',
      ...[
        [11327, 20, 3],
        [11328, 35, 4],
        [11345, 45, 3],
      ].flatMap(([pid, sm, mem], k) => [`${pu}.${k}.pid=${pid}`, `${pu}.${k}.smUtil=${sm}`, `${pu}.${k}.memUtil=${mem}`]),
    ];
    const got = parse(await dump(stateFile(captureState(H100, {}, constructed))));
    assert.deepEqual(
      [0, 1, 2].map((k) => [got.get(`${pu}.${k}.pid`), got.get(`${pu}.${k}.smUtil`), got.get(`${pu}.${k}.memUtil`)]),
      [
        ['11327', '20', '3'],
        ['11328', '35', '4'],
        ['11345', '45', '3'],
      ],
    );
  });

  it('logs each call, in order, to the file named by FAKE_NVML_CALLS', async () => {
    const calls = path.join(dir, 'calls.log');
    await dump(stateFile(captureState(H100, {}, ['nvmlInit=!DRIVER_NOT_LOADED'])), [], { FAKE_NVML_CALLS: calls });
    assert.equal(readFileSync(calls, 'utf8'), 'nvmlInit\n');
    rmSync(calls);
    await dump(stateFile(captureState(H100)), [], { FAKE_NVML_CALLS: calls });
    const lines = readFileSync(calls, 'utf8').trimEnd().split('\n');
    assert.deepEqual(lines.slice(0, 4), ['nvmlInit', 'nvmlSystemGetDriverVersion', 'nvmlSystemGetNVMLVersion', 'nvmlSystemGetCudaDriverVersion']);
    assert.equal(lines.at(-1), 'nvmlShutdown');
    assert.equal(lines.filter((l) => l === 'nvmlDeviceGetPowerUsage').length, 1);
  });

  it('process utilisation samples older than the caller last saw are not returned again', async () => {
    const pu = 'device.0.nvmlDeviceGetProcessUtilization';
    const state = stateFile(
      captureState(H100, {}, [
        '# constructed: an old sample of one process and a fresh one of another',
        `${pu}.0.pid=11327`,
        `${pu}.0.smUtil=20`,
        `${pu}.0.ageUs=5000000`,
        `${pu}.1.pid=11345`,
        `${pu}.1.smUtil=45`,
      ]),
    );
    const all = parse(await dump(state));
    assert.deepEqual([all.get(`${pu}.0.pid`), all.get(`${pu}.1.pid`)], ['11327', '11345']);
    const recent = parse(await dump(state, ['since', '1000000']));
    assert.deepEqual([recent.get(`${pu}.0.pid`), recent.get(`${pu}.0.smUtil`), recent.get(`${pu}.1.pid`)], ['11345', '45', undefined]);
  });

  it('re-reads the state file when it is replaced, while the caller keeps running', async () => {
    const events = path.join(dir, 'late-events');
    writeFileSync(events, '0 94\n');
    const support = `device.0.nvmlDeviceGetSupportedEventTypes=${nvml('nvmlEventTypeXidCriticalError')}`;
    const state = stateFile(captureState(H100, {}, [support]));
    const child = spawnDump(['events', '2'], { FAKE_NVML_STATE: state });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await new Promise((r) => setTimeout(r, 300));
    // No events file was named at start; the replaced state names one.
    writeFakeNvmlState(state, captureState(H100, {}, [support, `events_file=${events}`]));
    assert.equal(await exited, 0);
    assert.match(out, /^event\.0=0 94 4294967295 4294967295$/m);
  });
});
