// Runner-error mapping shared by the one-shot CLI backends (nvidia-smi, amd-smi, hl-smi, xpu-smi):
// an absent binary is "no data", everything else a BackendError with the
// tool's own words.

import { CommandNotFoundError, CommandSpawnError, CommandTimeoutError, type CommandResult } from '../exec/runner.ts';
import { BackendError, NoDataError, type BackendDeps } from './backend.ts';

export async function runTool(deps: BackendDeps, tool: string, path: string, args: readonly string[], signal: AbortSignal): Promise<CommandResult> {
  try {
    return await deps.runner.run(path, args, { timeoutMs: deps.timeoutMs, signal });
  } catch (err) {
    if (err instanceof CommandNotFoundError) throw new NoDataError(`${tool} not found at ${path}`);
    if (err instanceof CommandTimeoutError) throw new BackendError('timeout', err.message);
    if (err instanceof CommandSpawnError) throw new BackendError('spawn', err.message);
    throw err;
  }
}

/** The first non-blank line of the tool's output, for error messages. */
export function firstLine(...outputs: string[]): string {
  for (const o of outputs) {
    const line = o.split(/\r?\n/).find((l) => l.trim() !== '');
    if (line) return truncate(line.trim());
  }
  return '(no output)';
}

export function truncate(s: string): string {
  return s.length > 200 ? s.slice(0, 200) + '...' : s;
}
