import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
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
});
