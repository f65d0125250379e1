// AMD GPUs through the older rocm-smi CLI, for hosts without amd-smi: one
// `rocm-smi <show flags> --json` per sample. Off by default: amd-smi reads the
// same GPUs, and both on would export every GPU twice under different uuids.
//
// The flag set is the one telegraf's amd_rocm_smi input runs, which is what
// the captured outputs in test/fixtures/amd were produced with.

import type { BackendReading } from '../../model.ts';
import { BackendError, NoDataError } from '../backend.ts';
import { CliBackend, exitCodeError, firstLine } from '../tool-run.ts';
import { ParseError } from '../values.ts';
import { parseRocmSmiOutput, rocmSmiDevices, type RocmSmiDocument } from './rocm-smi-parse.ts';

export const ROCM_SMI_ARGS: readonly string[] = [
  '-o', '-l', '-m', '-M', '-g', '-c', '-t', '-u', '-i', '-f', '-p', '-P', '-s', '-S', '-v',
  '--showreplaycount', '--showpids', '--showdriverversion', '--showmemvendor', '--showfwinfo',
  '--showproductname', '--showserial', '--showuniqueid', '--showbus', '--showpendingpages',
  '--showpagesinfo', '--showmeminfo', 'all', '--showretiredpages', '--showunreservablepages',
  '--showmemuse', '--showvoltage', '--showtopo', '--showtopoweight', '--showtopohops',
  '--showtopotype', '--showtoponuma', '--json',
];

// rocm-smi's own words when the amdgpu driver is not loaded (it exits 0 then)
// or it finds no GPU ("WARNING: No AMD GPUs specified", also exit 0).
const NO_DEVICES_RE = /No AMD GPUs specified|Driver not initialized|amdgpu not found in modules/i;

export class RocmSmiBackend extends CliBackend {
  async sample(signal: AbortSignal): Promise<BackendReading> {
    const r = await this.run(ROCM_SMI_ARGS, signal);
    const output = r.stdout + '\n' + r.stderr;
    let doc: RocmSmiDocument | undefined;
    let shapeError: ParseError | undefined;
    try {
      doc = parseRocmSmiOutput(r.stdout);
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      shapeError = err;
    }
    if (doc && doc.cards.size > 0) {
      // rocm-smi keeps the status of its last failed query as its exit code, so a
      // card without a fan or a pending-pages file makes the whole run "fail";
      // the document it printed is still good.
      if (r.exitCode !== 0) this.deps.log.debug({ exitCode: r.exitCode, stderr: firstLine(r.stderr) }, 'rocm-smi exited non-zero but printed its cards');
      // No processes: --showpids gives each process a count of GPUs, not which GPU.
      return { devices: rocmSmiDevices(doc), lost: [] };
    }
    if (NO_DEVICES_RE.test(output)) throw new NoDataError(`rocm-smi found no AMD GPUs: ${firstLine(r.stderr, r.stdout)}`);
    if (r.exitCode !== 0) throw exitCodeError('rocm-smi', r.exitCode, firstLine(r.stderr, r.stdout));
    if (shapeError) throw new BackendError('parse', `unexpected rocm-smi output (${shapeError.message}): ${firstLine(r.stdout, r.stderr)}`);
    throw new NoDataError('rocm-smi listed no cards');
  }
}
