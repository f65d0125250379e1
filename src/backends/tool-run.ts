// Shared by the one-shot CLI backends (nvidia-smi, amd-smi, rocm-smi, hl-smi,
// xpu-smi): the runner-error mapping (an absent binary is "no data",
// everything else a BackendError with the tool's own words), the tool-path
// option, the non-zero exit failure and the optional process list.

import { CommandNotFoundError, CommandSpawnError, CommandTimeoutError, exitedWithCode, type CommandResult } from '../exec/runner.ts';
import type { BackendReading } from '../model.ts';
import { option, type OptionGroup } from '../options.ts';
import { BackendError, NoDataError, type Backend, type BackendDeps, type BackendFactory } from './backend.ts';

export async function runTool(deps: BackendDeps, path: string, args: readonly string[], signal: AbortSignal): Promise<CommandResult> {
  try {
    return await deps.runner.run(path, args, { timeoutMs: deps.timeoutMs, signal });
  } catch (err) {
    if (err instanceof CommandNotFoundError) throw new NoDataError(`${deps.name} not found at ${path}`);
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

/** The failure of a tool run that exited non-zero, with what the tool said. */
export function exitCodeError(what: string, code: number | null | undefined, said: string): BackendError {
  return new BackendError('exit_code', `${exitedWithCode(what, code)}: ${said}`);
}

/**
 * A process list is useful but secondary: its failure must not drop the device
 * values, so anything but a timeout (which ends the whole sample) is logged
 * and the sample has no process list.
 */
export async function optionalProcessList<T>(deps: BackendDeps, what: string, read: () => Promise<T | undefined>): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof BackendError && err.reason === 'timeout') throw err;
    deps.log.warn({ err }, `${what} failed; no process list this sample`);
    return undefined;
  }
}

export interface ToolOptions {
  /** The binary: a path, or a name looked up in PATH. */
  readonly path: string;
}

/** The `--<tool>.path` option every tool backend has. */
export function toolOptions(tool: string, extraHelp = ''): OptionGroup<ToolOptions> {
  return { path: option.string(`${tool}.path`, tool, `${tool} binary: a path, or a name looked up in PATH.${extraHelp ? ' ' + extraHelp : ''}`) };
}

/**
 * What every one-shot CLI backend shares: its dependencies and binary, the
 * count of tool starts, nothing to close, and `run` with the error mapping above.
 */
export abstract class CliBackend implements Backend {
  readonly name: string;
  protected readonly deps: BackendDeps;
  protected readonly path: string;

  constructor(deps: BackendDeps, options: ToolOptions) {
    this.name = deps.name;
    this.deps = deps;
    this.path = options.path;
  }

  toolStarts(): number {
    return this.deps.runner.starts();
  }

  async close(): Promise<void> {}

  protected run(args: readonly string[], signal: AbortSignal): Promise<CommandResult> {
    return runTool(this.deps, this.path, args, signal);
  }

  abstract sample(signal: AbortSignal): Promise<BackendReading>;
}

/**
 * A factory for a backend that runs one tool: its name is also the tool's
 * (and so its `--<name>.path` option), stated once.
 */
export function toolBackend(name: string, f: Omit<BackendFactory<ToolOptions>, 'name' | 'options'> & { readonly pathHelp?: string }): BackendFactory<ToolOptions> {
  const { pathHelp, ...rest } = f;
  return { name, options: toolOptions(name, pathHelp), ...rest };
}
