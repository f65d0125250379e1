// NVIDIA GPUs through nvidia-smi: --query-gpu and --query-compute-apps CSV,
// one short process per query, sequential (concurrent nvidia-smi runs are
// known to hang consumer GPUs). Fields are discovered once from
// --help-query-gpu, and again after the driver rejects a field.

import type { BackendReading, ProcessSample } from '../../model.ts';
import { BackendError, NoDataError } from '../backend.ts';
import { CliBackend, exitCodeError, firstLine, optionalProcessList, truncate } from '../tool-run.ts';
import { ParseError } from '../values.ts';
import {
  COMPUTE_APPS_FIELDS,
  parseComputeApps,
  parseGpuRows,
  parseHelpQuery,
  planQuery,
  type QueryPlan,
} from './nvidia-smi-fields.ts';

const NO_DEVICES_RE = /No devices were found/i;
const INVALID_FIELD_RE = /is not a valid field to query/i;

export class NvidiaSmiBackend extends CliBackend {
  private plan: QueryPlan | undefined;

  async sample(signal: AbortSignal): Promise<BackendReading> {
    const plan = this.plan ?? (await this.discover(signal));
    const gpu = await this.run(['--query-gpu=' + plan.fields.join(','), '--format=csv,noheader,nounits'], signal);
    const parsed = parseGpuRows(gpu.stdout, plan);
    if (gpu.exitCode !== 0) {
      const text = firstLine(gpu.stdout, gpu.stderr);
      if (NO_DEVICES_RE.test(gpu.stdout + gpu.stderr)) throw new NoDataError('nvidia-smi found no NVIDIA devices');
      if (INVALID_FIELD_RE.test(gpu.stdout + gpu.stderr)) {
        // The driver changed under us (upgrade without restart): discover again next time.
        this.plan = undefined;
        throw new BackendError('exit_code', `nvidia-smi rejected the field list: ${text}`);
      }
      // A lost GPU makes nvidia-smi exit non-zero while the other rows are fine.
      if (parsed.devices.length === 0) {
        throw exitCodeError('nvidia-smi', gpu.exitCode, text);
      }
    }
    if (parsed.devices.length === 0 && parsed.lost.length === 0) {
      if (parsed.badLines.length > 0) {
        throw new BackendError('parse', `unexpected nvidia-smi output: ${truncate(parsed.badLines[0]!)}`);
      }
      throw new NoDataError('nvidia-smi listed no devices');
    }
    if (parsed.badLines.length > 0) {
      this.deps.log.debug({ lines: parsed.badLines.slice(0, 3) }, 'skipped unparseable nvidia-smi rows');
    }
    return { devices: parsed.devices, lost: parsed.lost, processes: await this.computeApps(signal) };
  }

  /** Process memory is useful but secondary: its failure must not drop the device values. */
  private computeApps(signal: AbortSignal): Promise<ProcessSample[] | undefined> {
    return optionalProcessList(this.deps, 'nvidia-smi --query-compute-apps', async () => {
      const r = await this.run(['--query-compute-apps=' + COMPUTE_APPS_FIELDS.join(','), '--format=csv,noheader,nounits'], signal);
      if (r.exitCode !== 0) {
        this.deps.log.warn({ exitCode: r.exitCode, output: firstLine(r.stdout, r.stderr) }, 'nvidia-smi --query-compute-apps failed; no process list this sample');
        return undefined;
      }
      return parseComputeApps(r.stdout).processes;
    });
  }

  private async discover(signal: AbortSignal): Promise<QueryPlan> {
    const r = await this.run(['--help-query-gpu'], signal);
    const supported = parseHelpQuery(r.stdout);
    if (supported.size === 0) {
      throw new BackendError(r.exitCode === 0 ? 'parse' : 'exit_code', `nvidia-smi --help-query-gpu listed no fields: ${firstLine(r.stdout, r.stderr)}`);
    }
    let plan: QueryPlan;
    try {
      plan = planQuery(supported);
    } catch (err) {
      if (err instanceof ParseError) throw new BackendError('parse', err.message);
      throw err;
    }
    this.deps.log.info({ fields: plan.fields.length, unsupported: plan.unsupported }, 'nvidia-smi fields discovered');
    this.plan = plan;
    return plan;
  }
}
