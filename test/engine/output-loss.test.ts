import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, lineMatching, scripted, supervisor } from '../helpers.js';

afterEach(closeAll);

describe('output that used to be lost', () => {
  it('counts every line of a long non-streamed answer', async () => {
    const answer = Array.from({ length: 5_000 }, (_, index) => `line ${index} ${'x'.repeat(60)}`).join('\n');
    const sup = supervisor({ model: scripted([{ text: answer }]) });
    const session = sup.session('s');
    const done = await session.collect(session.delegate({ goal: 'write a lot' }));
    expect(done.status).toBe('completed');
    expect(done.outputLines).toBe(5_000);
    expect(done.droppedLines).toBe(4_800);
    expect(done.preview.at(-1)).toBe(`line 4999 ${'x'.repeat(60)}`);
  });

  it('shows the lines a tool emitted before it hung its thread', async () => {
    const sup = supervisor({
      model: scripted([{ toolCalls: [{ name: 'floodThenHang', arguments: { lines: 10 } }] }]),
      limits: { cancelGraceMs: 50 },
    });
    const session = sup.session('s');
    const id = session.delegate({ goal: 'g', toolsets: ['faults'] });
    expect(await lineMatching(session, id, /^line 9$/)).toBe('line 9');
    const stopped = await session.cancel(id);
    expect(stopped.status).toBe('cancelled');
  });
});
