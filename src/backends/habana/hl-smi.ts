// Intel Gaudi accelerators through `hl-smi -Q ... -f csv,noheader,nounits`:
// one short process per sample. A release that rejects the newer fields is
// asked again with the documented base list, kept once that works.

import type { BackendReading } from '../../model.ts';
import { BackendError, NoDataError } from '../backend.ts';
import { CliBackend, exitCodeError, firstLine, truncate } from '../tool-run.ts';
import { HL_SMI_BASE_FIELDS, HL_SMI_FIELDS, parseHlSmiRows } from './hl-smi-fields.ts';

export class HlSmiBackend extends CliBackend {
  private fields: readonly string[] = HL_SMI_FIELDS;

  async sample(signal: AbortSignal): Promise<BackendReading> {
    let r = await this.query(this.fields, signal);
    if (r.exitCode !== 0 && this.fields !== HL_SMI_BASE_FIELDS) {
      // Only a success with the base list proves the newer fields were the problem.
      const retry = await this.query(HL_SMI_BASE_FIELDS, signal);
      if (retry.exitCode === 0) {
        this.deps.log.info({ output: firstLine(r.stderr, r.stdout) }, 'hl-smi rejected the full field list; using the base fields from now on');
        this.fields = HL_SMI_BASE_FIELDS;
        r = retry;
      }
    }
    if (r.exitCode !== 0) throw exitCodeError('hl-smi', r.exitCode, firstLine(r.stderr, r.stdout));
    const parsed = parseHlSmiRows(r.stdout, this.fields);
    if (parsed.devices.length === 0) {
      if (parsed.badLines.length > 0) throw new BackendError('parse', `unexpected hl-smi output: ${truncate(parsed.badLines[0]!)}`);
      throw new NoDataError('hl-smi listed no devices');
    }
    if (parsed.badLines.length > 0) this.deps.log.debug({ lines: parsed.badLines.slice(0, 3) }, 'skipped unparseable hl-smi rows');
    return { devices: parsed.devices, lost: [] };
  }

  private query(fields: readonly string[], signal: AbortSignal) {
    return this.run(['-Q', fields.join(','), '-f', 'csv,noheader,nounits'], signal);
  }
}
