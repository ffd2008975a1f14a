import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RingBuffer } from './ring-buffer.js';

/** The obvious model: all text joined, split into lines, each cut; keep the last N closed lines. */
function model(writes: Array<{ whole: boolean; text: string }>, capacity: number, lineChars: number) {
  const lines: string[] = [];
  let open: string | undefined;
  for (const { whole, text } of writes) {
    if (whole && open !== undefined) {
      if (open.length > 0) lines.push(open);
      open = undefined;
    }
    const parts = text.split('\n');
    parts.forEach((part, index) => {
      const isLast = index === parts.length - 1;
      const joined = (open ?? '') + part;
      if (!isLast) {
        lines.push(joined);
        open = undefined;
      } else {
        open = joined;
      }
    });
    if (whole && !text.endsWith('\n')) {
      lines.push(open ?? '');
      open = undefined;
    } else if (whole) open = undefined;
  }
  const openLine = open !== undefined && open.length > 0 ? open.slice(0, lineChars) : undefined;
  return {
    closed: lines.map((line) => line.slice(0, lineChars)),
    open: openLine,
    dropped: Math.max(0, lines.length - capacity),
    total: lines.length + (openLine === undefined ? 0 : 1),
  };
}

describe('RingBuffer (property)', () => {
  it('equals "the last N lines, each cut to M characters", with exact counts', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ whole: fc.boolean(), text: fc.stringMatching(/^[ab\n]{0,30}$/) }), {
          maxLength: 60,
        }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 6 }),
        (writes, capacity, lineChars) => {
          const buffer = new RingBuffer(capacity, lineChars);
          for (const { whole, text } of writes) {
            if (whole) buffer.writeLines(text);
            else buffer.write(text);
          }
          const expected = model(writes, capacity, lineChars);
          const tail = [
            ...expected.closed.slice(-capacity),
            ...(expected.open === undefined ? [] : [expected.open]),
          ];
          expect(buffer.tail(capacity + 1)).toEqual(tail);
          expect(buffer.dropped).toBe(expected.dropped);
          expect(buffer.lineCount).toBe(expected.total);
          expect(buffer.slice(0)).toEqual(expected.closed.slice(-capacity));
        },
      ),
      { numRuns: 2_000 },
    );
  });
});
