// Peak RSS (VmHWM) of the real exporter after its first sample against a fake tool printing a lot:
// nvidia-smi printing <MiB> of rows, or neuron-monitor printing one line of <MiB> (issue 13, finding 7).
// Usage: node scripts/input-size-rss.ts nvidia <MiB> | neuron <MiB>   (after a build: it runs dist/ like the tests)
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startExporter, FAKE_TOOLS, FIXTURES } from '../test/helpers/exporter.ts';
import { firstSample } from '../test/helpers/golden-e2e.ts';
const [kind, mb] = process.argv.slice(2);
const vm = (pid: number, key: string) => Number(/(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(key))!)![1]) / 1024;
const e = kind === 'nvidia'
  ? await startExporter(['--collect.interval=1h', '--collect.timeout=60s', `--nvidia-smi.path=${path.join(FAKE_TOOLS, 'nvidia-smi')}`, '--no-attribution'], { FAKE_NVIDIA_SMI_CAPTURE: path.join(FIXTURES, 'nvidia/capture_h100-80gb-hbm3_590.48.01_linux.txt'), FAKE_NVIDIA_SMI_MODE: 'huge', FAKE_NVIDIA_SMI_HUGE_MB: mb! })
  : await startExporter(['--collect.interval=1h', '--collect.timeout=60s', `--neuron-monitor.path=${path.join(FAKE_TOOLS, 'neuron-monitor')}`, '--no-attribution'], { FAKE_NEURON_MONITOR_CAPTURE: path.join(FIXTURES, 'neuron/neuron-monitor_stream_3-reports__trn1.2xlarge__wandb-test_trainium.jsonl'), FAKE_NEURON_MONITOR_MODE: 'long-line', FAKE_NEURON_MONITOR_LINE_MB: mb!, FAKE_NEURON_MONITOR_PERIOD_MS: '60000' });
try {
  const before = vm(e.proc.pid!, 'VmHWM:');
  await firstSample(e, kind === 'nvidia' ? 'nvidia-smi' : 'neuron-monitor');
  await new Promise((r) => setTimeout(r, 3000));
  console.log(`${kind} ${mb} MiB: peak RSS ${vm(e.proc.pid!, 'VmHWM:').toFixed(1)} MiB (at listen ${before.toFixed(1)}), RSS after 3 s ${vm(e.proc.pid!, 'VmRSS:').toFixed(1)} MiB`);
} finally {
  await e.stop();
}
