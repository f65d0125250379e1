import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LineSplitter } from '../../src/backends/line-splitter.ts';

const lines = (s: LineSplitter, ...chunks: string[]) => chunks.flatMap((c) => s.push(Buffer.from(c))).map((i) => (i.tooLong ? '<too long>' : i.line));

describe('LineSplitter', () => {
  it('joins lines across chunks and splits several in one chunk', () => {
    assert.deepEqual(lines(new LineSplitter(100), '{"a":', '1}\n{"b":2}\n{"c"', ':3}\n'), ['{"a":1}', '{"b":2}', '{"c":3}']);
  });

  it('keeps a multi-byte character split between chunks whole', () => {
    const euro = Buffer.from('€\n');
    const s = new LineSplitter(100);
    assert.deepEqual([...s.push(euro.subarray(0, 2)), ...s.push(euro.subarray(2))], [{ tooLong: false, line: '€' }]);
  });

  it('reports a line past the bound once, drops it up to its newline, and goes on', () => {
    assert.deepEqual(lines(new LineSplitter(8), 'short\n', '0123456', '789abc', 'def\nnext\n'), ['short', '<too long>', 'next']);
    assert.deepEqual(lines(new LineSplitter(8), '12345678\n123456789\n'), ['12345678', '<too long>']);
  });
});
