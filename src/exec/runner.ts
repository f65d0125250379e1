import { spawn } from 'node:child_process';
import { MAX_TOOL_OUTPUT_BYTES } from '../bounds.ts';
import { killGroup, trackGroup } from './process-group.ts';

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
/** The tool printed more than MAX_OUTPUT_BYTES on stdout; it was killed when it crossed the bound. */
export class CommandOutputTooLargeError extends Error {
  override name = 'CommandOutputTooLargeError';
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

/** Largest stdout read from one tool run; the run fails as `too_large` past it. */
export const MAX_OUTPUT_BYTES = MAX_TOOL_OUTPUT_BYTES;
/** stderr only ever feeds error messages: the first 64 KiB are kept, the rest read and dropped. */
const MAX_STDERR_BYTES = 64 * 1024;
/**
 * After the tool exits, how long its pipes may take to reach end of file. A
 * child it forked may hold them open for its own lifetime; the run ends
 * anyway, with what was read, and the child dies with the group.
 */
const DRAIN_MS = 200;

/**
 * Runs vendor tools with an argument array (never a shell), in a process group
 * of their own, with a hard time bound. A run ends when the tool exits (its
 * pipes drained briefly) or at the deadline, and either way the whole group is
 * killed, so nothing it started outlives it. stdout is capped while it is read.
 *
 * A command line whose process still exists (a tool stuck in the driver
 * survives SIGKILL until the kernel lets go) is never started twice: the second
 * caller gets a timeout at once instead of piling up processes. The guard is
 * released when that process exits, whatever its children do.
 */
export class ProcessRunner implements CommandRunner {
  private readonly inFlight = new Set<string>();
  private started = 0;

  starts(): number {
    return this.started;
  }

  run(file: string, args: readonly string[], opts: RunOptions): Promise<CommandResult> {
    const key = [file, ...args].join('\u0000');
    if (this.inFlight.has(key)) {
      return Promise.reject(new CommandTimeoutError(`${file} is still running from an earlier sample; not starting another`));
    }
    if (opts.signal?.aborted) return Promise.reject(new CommandTimeoutError(`${file} was cancelled`));
    this.inFlight.add(key);
    this.started++;
    return new Promise<CommandResult>((resolve, reject) => {
      const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, windowsHide: true });
      const pid = child.pid;
      if (pid !== undefined) trackGroup(pid);
      const out: Buffer[] = [];
      let outBytes = 0;
      const err: Buffer[] = [];
      let errBytes = 0;
      let open = 2;
      let exitCode: number | null | undefined;
      let settled = false;
      let drain: NodeJS.Timeout | undefined;

      const finish = (error?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        clearTimeout(drain);
        opts.signal?.removeEventListener('abort', onAbort);
        if (pid !== undefined) killGroup(pid);
        child.stdout!.destroy();
        child.stderr!.destroy();
        if (error) return reject(error);
        resolve({
          stdout: Buffer.concat(out, outBytes).toString('utf8'),
          stderr: Buffer.concat(err, errBytes).toString('utf8'),
          exitCode: exitCode ?? -1,
        });
      };
      const onAbort = () => finish(new CommandTimeoutError(`${file} was cancelled`));
      // The deadline looks once more after pending I/O: when the event loop was busy (a loaded node, a
      // heavy import at start) the tool's exit may be queued behind this timer; a tool that has exited is not timed out.
      const deadline = setTimeout(() => {
        setImmediate(() => {
          if (exitCode === undefined) finish(new CommandTimeoutError(`${file} did not finish within ${opts.timeoutMs} ms and was killed`));
        });
      }, opts.timeoutMs);
      opts.signal?.addEventListener('abort', onAbort, { once: true });

      child.stdout!.on('data', (chunk: Buffer) => {
        if (settled) return;
        if (outBytes + chunk.length > MAX_OUTPUT_BYTES) {
          finish(new CommandOutputTooLargeError(`${file} printed more than ${MAX_OUTPUT_BYTES} bytes and was killed`));
          return;
        }
        out.push(chunk);
        outBytes += chunk.length;
      });
      child.stderr!.on('data', (chunk: Buffer) => {
        if (errBytes >= MAX_STDERR_BYTES) return;
        const part = chunk.subarray(0, MAX_STDERR_BYTES - errBytes);
        err.push(part);
        errBytes += part.length;
      });
      const ended = () => {
        if (--open === 0 && exitCode !== undefined) finish();
      };
      child.stdout!.once('end', ended);
      child.stderr!.once('end', ended);

      child.once('error', (e: NodeJS.ErrnoException) => {
        // The process never started: nothing to wait for or kill.
        this.inFlight.delete(key);
        if (e.code === 'ENOENT') finish(new CommandNotFoundError(`${file}: not found`));
        else finish(new CommandSpawnError(`${file}: ${e.message}`));
      });
      child.once('exit', (code) => {
        this.inFlight.delete(key);
        exitCode = code;
        if (open === 0) finish();
        else drain = setTimeout(() => finish(), DRAIN_MS);
      });
    });
  }
}

/** "`what` exited with code N", the one wording of a non-zero exit (backends add the tool's words). */
export function exitedWithCode(what: string, code: number | null | undefined): string {
  return `${what} exited with code ${code}`;
}
