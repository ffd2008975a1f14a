import { describe, expect, it } from 'vitest';
import { PushChannel, SSE_PREAMBLE, SseStats, sseFrame } from './sse.js';

const decoder = new TextDecoder();

describe('sseFrame', () => {
  it('writes id, event and one line of JSON data, then a blank line', () => {
    expect(sseFrame('line', { index: 3, text: 'a\nb' }, 3)).toBe(
      'id: 3\nevent: line\ndata: {"index":3,"text":"a\\nb"}\n\n',
    );
    expect(sseFrame('end', { ok: true })).toBe('event: end\ndata: {"ok":true}\n\n');
  });
});

describe('PushChannel', () => {
  it('delivers what was sent, in order, as the reader pulls', async () => {
    const stats = new SseStats();
    const channel = new PushChannel({ maxBufferedBytes: 1_000, stats, onClose: () => {} });
    const reader = channel.stream.getReader();
    channel.send('a');
    channel.send('b');
    expect(decoder.decode((await reader.read()).value)).toBe(`${SSE_PREAMBLE}ab`);
    const pending = reader.read();
    channel.send('c');
    expect(decoder.decode((await pending).value)).toBe('c');
    expect(stats).toMatchObject({ clients: 1, bufferedBytes: 0, dropped: 0 });
    channel.finish('z');
    expect(decoder.decode((await reader.read()).value)).toBe('z');
    expect((await reader.read()).done).toBe(true);
    expect(stats.clients).toBe(0);
  });

  it('drops a reader that stops reading once its queue passes the cap, and holds nothing after', () => {
    const stats = new SseStats();
    let aborted = 0;
    let closed = 0;
    const channel = new PushChannel({
      maxBufferedBytes: 100,
      stats,
      onClose: () => {
        closed += 1;
      },
      abortConnection: () => {
        aborted += 1;
      },
    });
    let sent = 0;
    while (channel.send('x'.repeat(30))) sent += 1;
    expect(sent).toBe(2); // the preamble (13 bytes) + 2 × 30 fit; the third passes 100
    expect(stats).toMatchObject({ clients: 0, bufferedBytes: 0, dropped: 1 });
    expect(stats.peakChannelBytes).toBeLessThanOrEqual(100 + 30);
    expect([aborted, closed]).toEqual([1, 1]);
    expect(channel.send('more')).toBe(false);
    expect(channel.closed).toBe(true);
  });

  it('errors the stream when there is no connection to abort', async () => {
    const channel = new PushChannel({ maxBufferedBytes: 10, stats: new SseStats(), onClose: () => {} });
    channel.send('x'.repeat(20));
    await expect(channel.stream.getReader().read()).rejects.toThrow(/fell too far behind/);
  });

  it('a cancelled stream (the client went away) closes the channel', async () => {
    const stats = new SseStats();
    let closed = 0;
    const channel = new PushChannel({ maxBufferedBytes: 1_000, stats, onClose: () => (closed += 1) });
    await channel.stream.cancel();
    expect([closed, stats.clients, channel.send('x')]).toEqual([1, 0, false]);
  });
});
