// Shared by the one-shot CLI backends (nvidia-smi, amd-smi, rocm-smi, hl-smi, xpu-smi): the runner-error mapping,
// an absent binary is "no data", everything else a BackendError with the
// tool's own words.

import { CommandNotFoundError, CommandOutputTooLargeError, CommandSpawnError, CommandTimeoutError, type CommandResult } from '../exec/runner.ts';
import type { FlagSpec } from '../config.ts';
import type { BackendReading } from '../model.ts';
import { BackendError, NoDataError, type Backend, type BackendDeps } from './backend.ts';

export async function runTool(deps: BackendDeps, tool: string, path: string, args: readonly string[], signal: AbortSignal): Promise<CommandResult> {
  try {
    return await deps.runner.run(path, args, { timeoutMs: deps.timeoutMs, signal });
  } catch (err) {
    if (err instanceof CommandNotFoundError) throw new NoDataError(`${tool} not found at ${path}`);
    if (err instanceof CommandTimeoutError) throw new BackendError('timeout', err.message);
    if (err instanceof CommandSpawnError) throw new BackendError('spawn', err.message);
    if (err instanceof CommandOutputTooLargeError) throw new BackendError('too_large', err.message);
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

/** `; stderr: <first line>` when the tool said something there, for messages about empty output. */
export function stderrNote(stderr: string): string {
  return stderr.trim() === '' ? '' : `; stderr: ${firstLine(stderr)}`;
}

export function truncate(s: string): string {
  return s.length > 200 ? s.slice(0, 200) + '...' : s;
}

/**
 * What every one-shot CLI backend shares: its dependencies and binary, the
 * count of tool starts, nothing to close, and `run` with the error mapping above.
 */
export abstract class CliBackend implements Backend {
  abstract readonly name: string;
  protected readonly deps: BackendDeps;
  protected readonly path: string;

  constructor(deps: BackendDeps, path: string) {
    this.deps = deps;
    this.path = path;
  }

  toolStarts(): number {
    return this.deps.runner.starts();
  }

  async close(): Promise<void> {}

  protected run(args: readonly string[], signal: AbortSignal): Promise<CommandResult> {
    return runTool(this.deps, this.name, this.path, args, signal);
  }

  abstract sample(signal: AbortSignal): Promise<BackendReading>;
}

/** The `--<tool>.path` flag every CLI backend has. */
export function toolPathFlag(tool: string, extraHelp = ''): FlagSpec {
  return { name: `${tool}.path`, kind: 'string', default: tool, help: `${tool} binary: a path, or a name looked up in PATH.${extraHelp ? ' ' + extraHelp : ''}` };
}
