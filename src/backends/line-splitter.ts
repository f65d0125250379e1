// Splits a byte stream into lines with a bound on the length of one line, so
// that a tool printing one endless line costs at most the bound in memory
// (the bytes past it are counted and dropped, never buffered).

export type SplitItem = { readonly tooLong: false; readonly line: string } | { readonly tooLong: true };

export class LineSplitter {
  private readonly maxBytes: number;
  private parts: Buffer[] = [];
  private bytes = 0;
  /** The current line passed the bound: drop everything up to its newline. */
  private skipping = false;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** The complete lines (without their newline) this chunk ends, in order. */
  push(chunk: Buffer): SplitItem[] {
    const out: SplitItem[] = [];
    let from = 0;
    while (from < chunk.length) {
      const nl = chunk.indexOf(0x0a, from);
      const end = nl < 0 ? chunk.length : nl;
      if (!this.skipping) {
        if (this.bytes + (end - from) > this.maxBytes) {
          this.skipping = true;
          this.parts = [];
          this.bytes = 0;
          out.push({ tooLong: true });
        } else if (end > from) {
          this.parts.push(chunk.subarray(from, end));
          this.bytes += end - from;
        }
      }
      if (nl < 0) break;
      if (!this.skipping) out.push({ tooLong: false, line: Buffer.concat(this.parts, this.bytes).toString('utf8') });
      this.parts = [];
      this.bytes = 0;
      this.skipping = false;
      from = nl + 1;
    }
    return out;
  }
}
