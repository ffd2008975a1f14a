import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Redactor } from '@errand/worker';
import { describe, expect, it } from 'vitest';
import { RingBuffer } from './ring-buffer.js';

describe('RingBuffer', () => {
  it('splits streamed text into lines and keeps the open line visible', () => {
    const buffer = new RingBuffer(10, 100);
    buffer.write('hel');
    buffer.write('lo\nwor');
    expect(buffer.tail(10)).toEqual(['hello', 'wor']);
    expect(buffer.lineCount).toBe(2);
    expect(buffer.closedCount).toBe(1);
    buffer.write('ld\n');
    expect(buffer.tail(10)).toEqual(['hello', 'world']);
    expect(buffer.lineCount).toBe(2);
  });

  it('writes records as whole lines, closing an open line first', () => {
    const buffer = new RingBuffer(10, 100);
    buffer.write('partial');
    buffer.writeLines('a\nb');
    buffer.writeLines('');
    expect(buffer.tail(10)).toEqual(['partial', 'a', 'b', '']);
  });

  it('cuts lines to lineChars without keeping the excess', () => {
    const buffer = new RingBuffer(10, 5);
    buffer.write('abcdefgh');
    buffer.write('ijk\nxy');
    buffer.end();
    expect(buffer.tail(10)).toEqual(['abcde', 'xy']);
  });

  it('keeps the last `capacity` lines and counts the dropped ones', () => {
    const buffer = new RingBuffer(3, 10);
    for (let index = 0; index < 7; index++) buffer.writeLines(`line ${index}`);
    expect(buffer.tail(10)).toEqual(['line 4', 'line 5', 'line 6']);
    expect(buffer.dropped).toBe(4);
    expect(buffer.firstIndex).toBe(4);
    expect(buffer.slice(0, 6)).toEqual(['line 4', 'line 5']);
    expect(buffer.tail(2)).toEqual(['line 5', 'line 6']);
    expect(buffer.tail(0)).toEqual([]);
  });

  it('does not pin the large strings its lines were cut from', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const kept: RingBuffer[] = [];
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let task = 0; task < 20; task++) {
      const buffer = new RingBuffer(200, 500);
      for (let line = 0; line < 200; line++)
        buffer.writeLines(JSON.stringify({ line, pad: 'x'.repeat(20_000) }));
      kept.push(buffer);
    }
    gc();
    const perBuffer = (process.memoryUsage().heapUsed - before) / kept.length;
    // 200 lines × 500 one-byte characters is ~100 KB; pinning each 20 KB parent would be ~4 MB.
    expect(perBuffer).toBeLessThan(1024 * 1024);
    expect(kept[0]!.tail(1)[0]).toHaveLength(500);
  });

  it('counts skipped lines as written and dropped, closing the open line first', () => {
    const buffer = new RingBuffer(3, 100);
    buffer.write('a\nopen');
    buffer.skip(5);
    buffer.write('tail\n');
    expect(buffer.lineCount).toBe(1 + 5 + 1);
    expect(buffer.dropped).toBe(4);
    expect(buffer.tail(3)).toEqual(['…', '…', 'tail']);
    const whole = new RingBuffer(200, 100);
    whole.write('open');
    whole.skip(10_000, true);
    whole.writeLines('last');
    expect([whole.lineCount, whole.dropped]).toEqual([10_002, 9_802]);
    expect(whole.slice(whole.firstIndex).every((line) => line === '…' || line === 'last')).toBe(true);
  });

  describe('with secrets', () => {
    const key = 'sk-test-abcdef123456';
    const redactor = new Redactor([key]);
    /** Every 12-character piece of the key (what a reader could still use). */
    const pieces = Array.from({ length: key.length - 11 }, (_, index) => key.slice(index, index + 12));
    const leaks = (lines: string[]) => pieces.filter((piece) => lines.some((line) => line.includes(piece)));

    it('redacts a key streamed in two pieces, split anywhere, in the open line and once closed', () => {
      for (let split = 1; split < key.length; split++) {
        const buffer = new RingBuffer(10, 500, redactor);
        buffer.write(`using ${key.slice(0, split)}`);
        expect(leaks(buffer.tail(10))).toEqual([]);
        buffer.write(`${key.slice(split)} ok`);
        expect(buffer.tail(10)).toEqual(['using [redacted] ok']);
        buffer.write('\n');
        expect(buffer.slice(0)).toEqual(['using [redacted] ok']);
      }
    });

    it('redacts before the line cut, so a key across the cut leaves nothing of itself', () => {
      for (let start = 480; start < 500; start++) {
        for (const split of [1, 7, 16, 19]) {
          const buffer = new RingBuffer(10, 500, redactor);
          buffer.write('x'.repeat(start) + key.slice(0, split));
          buffer.write(`${key.slice(split)}${'y'.repeat(1_000)}`);
          expect(leaks(buffer.tail(1))).toEqual([]);
          buffer.end();
          const [line] = buffer.slice(0);
          expect(line!.length).toBeLessThanOrEqual(500);
          expect(line!.slice(0, start)).toBe('x'.repeat(start));
          expect(line!.includes(key.slice(0, 4)) || line!.includes(key.slice(-4))).toBe(false);
        }
      }
    });

    it('redacts a split key that follows a very long line', () => {
      const buffer = new RingBuffer(10, 500, redactor);
      buffer.write(`${'z'.repeat(300_000)}\nkey ${key.slice(0, 9)}`);
      buffer.write(`${key.slice(9)}\n`);
      expect(buffer.slice(0)).toEqual(['z'.repeat(500), 'key [redacted]']);
    });
  });
});
