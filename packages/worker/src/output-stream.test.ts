import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { EAGER_POSTS, MAX_CHUNK_CHARS, OutputStream, WINDOW_BATCHES } from './output-stream.js';
import { CONTROL, type WorkerMessage } from './protocol.js';

// Redaction reads secret-looking variables once, on first use: plant the key before any test runs.
const PLANTED = 'sk-abcdefghijklmnopqrstuvwxyz123456';
process.env.ERRAND_TEST_API_KEY = PLANTED;

function drain(port: MessageChannel['port1']): WorkerMessage[] {
  const messages: WorkerMessage[] = [];
  for (let entry = receiveMessageOnPort(port); entry; entry = receiveMessageOnPort(port)) {
    messages.push(entry.message as WorkerMessage);
  }
  return messages;
}

describe('OutputStream', () => {
  it('posts one message per batchSize chunks', () => {
    const { port1, port2 } = new MessageChannel();
    const stream = new OutputStream(port2, 4, 10_000);
    for (let index = 0; index < 10; index++) stream.push({ kind: 'log', text: `${index}` });
    const messages = drain(port1);
    expect(messages.map((message) => (message.kind === 'chunks' ? message.chunks.length : 0))).toEqual([
      4, 4,
    ]);
    stream.flush();
    expect(drain(port1)).toHaveLength(1);
    port1.close();
  });

  it('sends the latest progress fields with every step timing recorded since the last flush', () => {
    const { port1, port2 } = new MessageChannel();
    const stream = new OutputStream(port2, 64, 10_000);
    stream.progress({ iterations: 0, spans: [{ kind: 'iteration', iteration: 1, start: 1 }] });
    stream.progress({ iterations: 1, lastText: 'hi', usage: { inputTokens: 1, outputTokens: 2 } });
    stream.progress({ iterations: 1, spans: [{ kind: 'iteration-end', iteration: 1, end: 2 }] });
    stream.flush();
    stream.progress({ iterations: 1, spans: [{ kind: 'iteration', iteration: 2, start: 3 }] });
    stream.flush();
    const progress = drain(port1).map((message) =>
      message.kind === 'chunks' ? message.progress : undefined,
    );
    expect(progress).toEqual([
      {
        iterations: 1,
        lastText: 'hi',
        usage: { inputTokens: 1, outputTokens: 2 },
        spans: [
          { kind: 'iteration', iteration: 1, start: 1 },
          { kind: 'iteration-end', iteration: 1, end: 2 },
        ],
      },
      { iterations: 1, spans: [{ kind: 'iteration', iteration: 2, start: 3 }] },
    ]);
    port1.close();
  });

  it('keeps control messages after the chunks before them', () => {
    const { port1, port2 } = new MessageChannel();
    const stream = new OutputStream(port2, 64, 10_000);
    stream.push({ kind: 'text', text: 'a' });
    stream.post({ kind: 'start', at: 1 });
    expect(drain(port1).map((message) => message.kind)).toEqual(['chunks', 'start']);
    port1.close();
  });

  it('sends the latest progress with the next batch, redacted, not in a message of its own', () => {
    const { port1, port2 } = new MessageChannel();
    const stream = new OutputStream(port2, 64, 10_000);
    stream.push({ kind: 'text', text: 'a' });
    stream.progress({ iterations: 1 });
    stream.progress({ iterations: 2, lastText: `key ${PLANTED}` });
    expect(drain(port1)).toEqual([]);
    stream.flush();
    const [message, ...rest] = drain(port1);
    expect(rest).toEqual([]);
    expect(message?.kind === 'chunks' && message.chunks).toEqual([{ kind: 'text', text: 'a' }]);
    const progress = message?.kind === 'chunks' ? message.progress : undefined;
    expect(progress?.iterations).toBe(2);
    expect(progress?.lastText).toBe('key [redacted]');
    stream.progress({ iterations: 3 });
    stream.flush();
    expect(drain(port1)).toEqual([{ kind: 'chunks', chunks: [], progress: { iterations: 3 } }]);
    port1.close();
  });

  it('flushes on tick once the oldest chunk has waited flushMs, even without a timer turn', () => {
    const { port1, port2 } = new MessageChannel();
    const stream = new OutputStream(port2, 64, 1);
    stream.push({ kind: 'log', text: 'x' });
    const start = performance.now();
    while (performance.now() - start < 3) {
      // A synchronous loop: the flush timer cannot fire here.
    }
    stream.tick();
    expect(drain(port1)).toHaveLength(1);
    port1.close();
  });

  it('caps a huge chunk to its tail', () => {
    const { port1, port2 } = new MessageChannel();
    const stream = new OutputStream(port2, 1, 10);
    stream.push({ kind: 'log', text: `${'a'.repeat(MAX_CHUNK_CHARS)}END` });
    const [message] = drain(port1);
    expect(message?.kind === 'chunks' && message.chunks[0]!.text.length).toBe(MAX_CHUNK_CHARS);
    expect(message?.kind === 'chunks' && message.chunks[0]!.text.endsWith('END')).toBe(true);
    port1.close();
  });

  it('counts the lines it cuts from an over-long chunk, cutting at a line start', () => {
    const { port1, port2 } = new MessageChannel();
    const stream = new OutputStream(port2, 1, 10);
    const lines = Array.from({ length: 5_000 }, (_, index) => `line ${index} ${'x'.repeat(60)}`);
    stream.push({ kind: 'text', text: `${lines.join('\n')}\n` });
    const [message] = drain(port1);
    const chunk = message?.kind === 'chunks' ? message.chunks[0]! : undefined;
    expect(chunk!.text.length).toBeLessThanOrEqual(MAX_CHUNK_CHARS);
    const kept = chunk!.text.split('\n').slice(0, -1);
    expect(chunk!.cutLines! + kept.length).toBe(5_000);
    expect(kept[0]).toBe(lines[chunk!.cutLines!]);
    port1.close();
  });

  it('redacts before cutting, so a secret across the cut leaves nothing behind', () => {
    const { port1, port2 } = new MessageChannel();
    const stream = new OutputStream(port2, 1, 10);
    stream.push({ kind: 'log', text: `${PLANTED}${'a'.repeat(MAX_CHUNK_CHARS - 10)}` });
    const [message] = drain(port1);
    const text = message?.kind === 'chunks' ? message.chunks[0]!.text : '';
    expect(text).not.toContain(PLANTED.slice(-10));
    port1.close();
  });

  it('flushes from push once the oldest chunk has waited flushMs', () => {
    const { port1, port2 } = new MessageChannel();
    const stream = new OutputStream(port2, 64, 0);
    stream.push({ kind: 'text', text: 'a' });
    stream.push({ kind: 'text', text: 'b' });
    expect(drain(port1).length).toBeGreaterThanOrEqual(1);
    port1.close();
  });

  it('posts what a tool emits at once, up to EAGER_POSTS messages per window, then batches', () => {
    const { port1, port2 } = new MessageChannel();
    const stream = new OutputStream(port2, 1_000, 60_000);
    for (let index = 0; index < 10; index++) stream.emit({ kind: 'log', text: `${index}` });
    expect(drain(port1)).toHaveLength(10);
    for (let index = 0; index < 100; index++) stream.emit({ kind: 'log', text: `${index}` });
    expect(drain(port1)).toHaveLength(EAGER_POSTS - 10);
    port1.close();
  });

  it('on a shared thread, waits for credit without blocking, past the window only, until half of it is taken in', async () => {
    const { port1, port2 } = new MessageChannel();
    const control = new Int32Array(new SharedArrayBuffer(CONTROL.length * 4));
    const stream = new OutputStream(port2, 1, 10_000, { control, shared: true });
    // Within the window: no wait. Past it (and below the synchronous last resort at twice the window): a wait.
    for (let index = 0; index < WINDOW_BATCHES; index++) stream.push({ kind: 'log', text: `${index}` });
    await stream.credit();
    for (let index = 0; index < 10; index++) stream.push({ kind: 'log', text: `more ${index}` });
    let done = false;
    const waiting = stream.credit().then(() => {
      done = true;
    });
    // The event loop still turns (a co-tenant would run): the wait is asynchronous.
    await new Promise((resolve) => setImmediate(resolve));
    expect(done).toBe(false);
    // The parent takes in enough batches to leave half the window in flight.
    Atomics.store(control, CONTROL.consumed, WINDOW_BATCHES / 2 + 10);
    Atomics.notify(control, CONTROL.consumed);
    await waiting;
    expect(done).toBe(true);
    expect(drain(port1).length).toBe(WINDOW_BATCHES + 10);
    port1.close();
  });

  it('lets a stop end a credit wait', async () => {
    const { port1, port2 } = new MessageChannel();
    const control = new Int32Array(new SharedArrayBuffer(CONTROL.length * 4));
    const stream = new OutputStream(port2, 1, 10_000, { control, shared: true });
    for (let index = 0; index <= WINDOW_BATCHES; index++) stream.push({ kind: 'log', text: `${index}` });
    const waiting = stream.credit();
    Atomics.store(control, CONTROL.stop, 1);
    await waiting;
    port1.close();
  });
});
