/**
 * The two Server-Sent Events routes over real HTTP: the exact frame format, resuming with Last-Event-ID (from a
 * finished task's stored tail and from a live one), the events feed, a slow client that stops reading (the
 * server's memory for it stays bounded and it is cut off), and the final events of a graceful shutdown.
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { closeServers, type Frame, openStream, startTestServer, TOKENS } from './serve-helpers.js';

afterEach(closeServers);

const lines = (frames: Frame[]) => frames.filter((frame) => frame.event === 'line');

describe('GET /v1/tasks/:id/stream', () => {
  it('sends id/event/data per line, then event: end with the terminal snapshot, then closes', async () => {
    const { server, api } = await startTestServer();
    const id = (await api('/v1/tasks', { body: { goal: 'lines 5' } })).body.task_id;
    const raw = await fetch(`${server.url}/v1/tasks/${id}/stream`, {
      headers: { authorization: `Bearer ${TOKENS[0]!.token}` },
    });
    expect(raw.status).toBe(200);
    expect(raw.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = await raw.text();
    expect(text).toContain('id: 0\nevent: line\ndata: {"index":0,"text":"line 1"}\n\n');
    expect(text).toContain('id: 4\nevent: line\ndata: {"index":4,"text":"line 5"}\n\nevent: end\ndata: {');
    const end = /event: end\ndata: (.*)\n\n$/.exec(text);
    expect(JSON.parse(end![1]!)).toMatchObject({ task_id: id, status: 'completed', output_lines: 5 });
  });

  it('Last-Event-ID: n resumes after line n of a finished task', async () => {
    const { server, api } = await startTestServer();
    const id = (await api('/v1/tasks', { body: { goal: 'lines 8' } })).body.task_id;
    await api(`/v1/tasks/${id}/collect`, { body: { timeout_seconds: 30 } });
    const resumed = await openStream(server, `/v1/tasks/${id}/stream`, { lastEventId: 5 });
    const frames = await resumed.until((frame) => frame.event === 'end');
    expect(lines(frames).map((frame) => [frame.id, frame.data.text])).toEqual([
      ['6', 'line 7'],
      ['7', 'line 8'],
    ]);
    expect(frames.at(-1)).toMatchObject({ event: 'end', data: { status: 'completed' } });
    expect(frames.at(-1)!.id).toBeUndefined();
    // The same through the query string, for clients that cannot set the header; -1 is "from the start".
    const all = await fetch(`${server.url}/v1/tasks/${id}/stream?last_event_id=-1`, {
      headers: { authorization: `Bearer ${TOKENS[0]!.token}` },
    });
    expect((await all.text()).match(/event: line/g)).toHaveLength(8);
    const bad = await api(`/v1/tasks/${id}/stream`, { headers: { 'last-event-id': 'abc' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_input');
  });

  it('a live stream dropped midway resumes after the last line seen, without gaps or repeats', async () => {
    const { server, api } = await startTestServer();
    const id = (await api('/v1/tasks', { body: { goal: 'work and stream' } })).body.task_id;
    const first = await openStream(server, `/v1/tasks/${id}/stream`);
    const seen = lines(await first.until((frame) => frame.event === 'line' && Number(frame.id) >= 6));
    await first.cancel();
    const last = Number(seen.at(-1)!.id);
    const second = await openStream(server, `/v1/tasks/${id}/stream`, { lastEventId: last });
    const more = lines(await second.until((frame) => frame.event === 'line' && Number(frame.id) >= last + 6));
    const indexes = [...seen, ...more].map((frame) => frame.data.index);
    expect(indexes).toEqual(indexes.map((_, position) => indexes[0] + position));
    expect(more.every((frame) => frame.id === String(frame.data.index))).toBe(true);
    await api(`/v1/tasks/${id}/steer`, { body: { message: 'finish the stream' } });
    const rest = await second.until((frame) => frame.event === 'end');
    expect(lines(rest).at(-1)!.data.text).toBe('finished: finish the stream');
    expect(rest.at(-1)!.data).toMatchObject({ status: 'completed', steering: { sent: 1, delivered: 1 } });
  });
});

describe('GET /v1/events', () => {
  it("sends this session's task-start, task-output, steer-delivered and task-end, and nothing of others", async () => {
    const { server, api } = await startTestServer();
    const feed = await openStream(server, '/v1/events');
    const otherFeed = await openStream(server, '/v1/events', { token: TOKENS[1]!.token });
    const id = (await api('/v1/tasks', { body: { goal: 'work with events' } })).body.task_id;
    await feed.until((frame) => frame.event === 'task-output');
    await api(`/v1/tasks/${id}/steer`, { body: { message: 'finish via events' } });
    const frames = await feed.until((frame) => frame.event === 'task-end');
    const kinds = new Set(frames.map((frame) => frame.event));
    expect(kinds).toEqual(new Set(['task-output', 'steer-delivered', 'task-end']));
    expect(frames.find((frame) => frame.event === 'steer-delivered')!.data).toEqual({ task_id: id, seq: 1 });
    const output = frames.find((frame) => frame.event === 'task-output')!.data;
    expect(output).toMatchObject({
      task_id: id,
      lines: expect.any(Number),
      output_lines: expect.any(Number),
    });
    expect(typeof output.last_line).toBe('string');
    expect(frames.at(-1)!.data).toMatchObject({
      task_id: id,
      status: 'completed',
      result: 'finished: finish via events',
    });

    // The other session's feed saw none of it: its first frame is for its own task.
    const theirs = (await api('/v1/tasks', { body: { goal: 'quick theirs' }, token: TOKENS[1]!.token })).body;
    const start = await otherFeed.next();
    expect(start).toMatchObject({ event: 'task-start', data: { task_id: theirs.task_id } });
    await feed.cancel();
    await otherFeed.cancel();
  });

  it('task-start comes first for a new task, with the check_task shape', async () => {
    const { server, api } = await startTestServer();
    const feed = await openStream(server, '/v1/events');
    const id = (await api('/v1/tasks', { body: { goal: 'quick started' } })).body.task_id;
    const start = await feed.next();
    expect(start).toMatchObject({
      event: 'task-start',
      data: { task_id: id, status: 'running', goal: 'quick started', steering: { sent: 0, delivered: 0 } },
    });
    await feed.cancel();
  });
});

describe('slow clients', () => {
  it('a client that stops reading /v1/events is cut off at the buffer cap; the server never holds more', async () => {
    const cap = 256 * 1024;
    const { server, api } = await startTestServer(
      { maxBufferedBytes: cap },
      { limits: { maxTasksPerSession: 400 } },
    );
    // A raw socket that sends the request and then never reads a byte.
    const socket = connect(server.port, '127.0.0.1');
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.pause();
    socket.write(`GET /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKENS[0]!.token}\r\n\r\n`);
    // A reading client of the same session, to see the feed go on.
    const reader = await openStream(server, '/v1/events');
    let received = 0;
    const reading = (async () => {
      for (let frame = await reader.next(); frame; frame = await reader.next())
        if (frame.event === 'task-end') received += 1;
    })();
    // Each task's start and end events carry its 20,000-character goal: 400 tasks make about 16 MB of events,
    // more than the socket buffers of a loopback connection can swallow.
    const goal = `quick ${'g'.repeat(19_990)}`;
    const ids: string[] = [];
    for (let round = 0; round < 400 && server.app.stats.dropped === 0; round += 20) {
      const batch = await Promise.all(Array.from({ length: 20 }, () => api('/v1/tasks', { body: { goal } })));
      ids.push(...batch.map((reply) => reply.body.task_id));
      await Promise.all(
        ids.slice(-20).map((id) => api(`/v1/tasks/${id}/collect`, { body: { timeout_seconds: 60 } })),
      );
    }
    expect(server.app.stats.dropped).toBe(1);
    // The server destroyed the connection: once the client reads again it sees the end of it.
    socket.resume();
    await closed;
    // One frame may be queued past the cap (it is what tips it over) before the client is dropped.
    expect(server.app.stats.peakChannelBytes).toBeLessThanOrEqual(cap + 45_000);
    expect(server.app.stats.bufferedBytes).toBeLessThan(cap);
    expect(received).toBeGreaterThan(0);
    await reader.cancel();
    await reading;
  }, 120_000);
});

describe('graceful shutdown', () => {
  it('close(): task streams end with event: end (the task cancelled), the feed with event: shutdown, 503 after', async () => {
    const { server, api } = await startTestServer();
    const id = (await api('/v1/tasks', { body: { goal: 'work until shutdown' } })).body.task_id;
    const stream = await openStream(server, `/v1/tasks/${id}/stream`);
    const feed = await openStream(server, '/v1/events');
    await stream.until((frame) => frame.event === 'line');
    const closing = server.close({ graceMs: 2_000 });
    const tail = await stream.until(() => false);
    expect(tail.at(-1)).toMatchObject({ event: 'end', data: { task_id: id, status: 'cancelled' } });
    const feedTail = await feed.until(() => false);
    expect(feedTail.at(-1)).toMatchObject({ event: 'shutdown' });
    expect(feedTail.some((frame) => frame.event === 'task-end' && frame.data.task_id === id)).toBe(true);
    await closing;
    expect(server.app.stats.clients).toBe(0);
    await expect(fetch(`${server.url}/v1/tasks`)).rejects.toThrow();
  });
});
