import type { TaskSnapshot } from '@errand/core';
import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import { fit, table } from './format.js';
import { renderRows, useColour } from './live-view.js';

function snapshot(fields: Partial<TaskSnapshot>): TaskSnapshot {
  return {
    id: 'id',
    sessionId: 'demo',
    status: 'running',
    goal: 'g',
    createdAt: 0,
    elapsedMs: 1_500,
    iterations: 2,
    preview: [],
    outputLines: 0,
    droppedLines: 0,
    steering: { sent: 0, delivered: 0 },
    ...fields,
  } as TaskSnapshot;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for colour codes is the point.
const SGR = /\u001b\[[\d;]*m/g;

describe('fit', () => {
  it('pads and cuts by display width: CJK and emoji take two columns, never cut in half', () => {
    expect(fit('日本語', 8)).toBe('日本語  ');
    expect(stringWidth(fit('日本語のテキスト', 7))).toBe(7);
    expect(fit('日本語のテキスト', 7)).toBe('日本語…');
    expect(stringWidth(fit('🙂🙂🙂🙂', 6))).toBe(6);
    expect(fit('👩‍👩‍👧 family', 4)).toBe('👩‍👩‍👧 …');
  });

  it('lines up table columns that hold wide characters', () => {
    const lines = table(
      ['task', 'result'],
      [
        ['日本', 'x'],
        ['ab', 'y'],
      ],
    ).split('\n');
    expect(lines.map((line) => stringWidth(line.slice(0, line.lastIndexOf(' ') + 1)))).toEqual([6, 6, 6, 6]);
  });
});

describe('renderRows', () => {
  const rows = [
    { label: 'todos', snapshot: snapshot({ status: 'running', preview: ['读取文件 '.repeat(40)] }) },
    {
      label: 'hash',
      snapshot: snapshot({ status: 'completed', iterations: 1 }),
      steering: 'steering delivered',
    },
    { label: 'marathon', snapshot: snapshot({ status: 'cancelled', preview: ['🙂 '.repeat(80)] }) },
  ];

  it('fits every line into the terminal width, also with wide characters', () => {
    for (const columns of [40, 60, 80, 120, 200]) {
      for (const line of renderRows(rows, { columns, color: true })) {
        expect(stringWidth(line)).toBeLessThanOrEqual(columns);
      }
    }
  });

  it('says iterations in words and shows a spinner on running rows only', () => {
    const [running, done] = renderRows(rows, { columns: 100, frame: 0 });
    expect(running).toMatch(/^⠋ todos\s+running\s+2 iterations\s+1\.5s/);
    expect(renderRows(rows, { columns: 100, frame: 1 })[0]).toMatch(/^⠙ todos/);
    expect(done).toMatch(/^✔ hash\s+completed\s+1 iteration\s+1\.5s\s+steering delivered/);
    expect(running).not.toMatch(/\bit\b/);
  });

  it('colours statuses only when asked', () => {
    const coloured = renderRows(rows, { columns: 100, color: true });
    expect(coloured[0]).toContain('\u001b[36m');
    expect(coloured[1]).toContain('\u001b[32m');
    expect(coloured[2]).toContain('\u001b[33m');
    expect(renderRows(rows, { columns: 100 }).join('\n')).not.toMatch(SGR);
  });

  it('has no colour with NO_COLOR or off a terminal', () => {
    const terminal = { isTTY: true, hasColors: () => true } as unknown as NodeJS.WriteStream;
    expect(useColour(terminal, {})).toBe(true);
    expect(useColour(terminal, { NO_COLOR: '1' })).toBe(false);
    expect(useColour({ isTTY: false } as unknown as NodeJS.WriteStream, {})).toBe(false);
  });
});
