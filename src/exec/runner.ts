import { execa } from 'execa';

export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

/** The binary does not exist (ENOENT): backends treat this as "no data". */
export class CommandNotFoundError extends Error {
  override name = 'CommandNotFoundError';
}
/** The run outlived its bound and was killed, or an earlier run of the same command is still stuck. */
export class CommandTimeoutError extends Error {
  override name = 'CommandTimeoutError';
}
/** The process could not be started for another reason (EACCES, ENOEXEC, ...). */
export class CommandSpawnError extends Error {
  override name = 'CommandSpawnError';
}

export interface RunOptions {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export interface CommandRunner {
  run(file: string, args: readonly string[], opts: RunOptions): Promise<CommandResult>;
  /** Processes started so far. */
  starts(): number;
}

const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

/**
 * Runs vendor tools with an argument array (never a shell), a hard time bound
 * and SIGKILL on expiry. A command line still running (a tool stuck in the
 * driver survives SIGKILL until the kernel lets go) is never started twice:
 * the second caller gets a timeout at once instead of piling up processes.
 */
export class ExecaRunner implements CommandRunner {
  private readonly inFlight = new Set<string>();
  private started = 0;

  starts(): number {
    return this.started;
  }

  async run(file: string, args: readonly string[], opts: RunOptions): Promise<CommandResult> {
    const key = [file, ...args].join('\u0000');
    if (this.inFlight.has(key)) {
      throw new CommandTimeoutError(`${file} is still running from an earlier sample; not starting another`);
    }
    this.inFlight.add(key);
    this.started++;
    try {
      const r = await execa(file, args, {
        timeout: opts.timeoutMs,
        killSignal: 'SIGKILL',
        cancelSignal: opts.signal,
        reject: false,
        stdin: 'ignore',
        maxBuffer: MAX_OUTPUT_BYTES,
        stripFinalNewline: false,
        windowsHide: true,
      });
      if (r.timedOut) throw new CommandTimeoutError(`${file} did not finish within ${opts.timeoutMs} ms and was killed`);
      if (r.isCanceled) throw new CommandTimeoutError(`${file} was cancelled`);
      const code = (r as { code?: string }).code;
      if (r.failed && r.exitCode === undefined) {
        if (code === 'ENOENT') throw new CommandNotFoundError(`${file}: not found`);
        if (r.isMaxBuffer) throw new CommandSpawnError(`${file}: output larger than ${MAX_OUTPUT_BYTES} bytes`);
        throw new CommandSpawnError(`${file}: ${r.originalMessage ?? r.shortMessage}`);
      }
      return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? -1 };
    } finally {
      this.inFlight.delete(key);
    }
  }
}

/** "`what` exited with code N", the one wording of a non-zero exit (backends add the tool's words). */
export function exitedWithCode(what: string, code: number | null | undefined): string {
  return `${what} exited with code ${code}`;
}
