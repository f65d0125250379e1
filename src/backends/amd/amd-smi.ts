// AMD GPUs through amd-smi: `static`, `metric` and `process` with --json, one
// short process each, sequential. Static data is read every sample as well:
// partition mode and identity change with `amd-smi set`, and the run is cheap
// next to `metric`.

import type { BackendReading, DeviceSample, ProcessSample } from '../../model.ts';
import { BackendError, NoDataError } from '../backend.ts';
import { CliBackend, exitCodeError, firstLine, optionalProcessList } from '../tool-run.ts';
import { ParseError } from '../values.ts';
import { parseJsonOutput, parseMetric, parseProcesses, parseStatic } from './amd-smi-parse.ts';

// amd-smi's own wording when the driver or devices are missing (amdsmi_init fails).
const NO_DEVICES_RE = /AMDSMI_STATUS_(NOT_INIT|DRIVER_NOT_LOADED|NOT_FOUND)|Unable to detect any GPU devices|No GPUs? (found|detected)/i;

export class AmdSmiBackend extends CliBackend {
  async sample(signal: AbortSignal): Promise<BackendReading> {
    const statics = parseStatic(await this.json('static', signal));
    const devices = parseMetric(await this.json('metric', signal), statics);
    if (devices.length === 0) throw new NoDataError('amd-smi listed no GPUs');
    return { devices, lost: [], processes: await this.processes(devices, signal) };
  }

  /** Process memory is useful but secondary: its failure must not drop the device values. */
  private processes(devices: readonly DeviceSample[], signal: AbortSignal): Promise<ProcessSample[] | undefined> {
    return optionalProcessList(this.deps, 'amd-smi process', async () => parseProcesses(await this.json('process', signal), devices));
  }

  private async json(command: 'static' | 'metric' | 'process', signal: AbortSignal): Promise<unknown> {
    const r = await this.run([command, '--json'], signal);
    const text = firstLine(r.stderr, r.stdout);
    if (r.exitCode !== 0) {
      if (NO_DEVICES_RE.test(r.stdout + r.stderr)) throw new NoDataError(`amd-smi found no AMD GPUs: ${text}`);
      throw exitCodeError(`amd-smi ${command}`, r.exitCode, text);
    }
    try {
      return parseJsonOutput(r.stdout);
    } catch (err) {
      if (err instanceof ParseError) throw new BackendError('parse', `unexpected amd-smi ${command} output (${err.message}): ${firstLine(r.stdout, r.stderr)}`);
      throw err;
    }
  }
}
