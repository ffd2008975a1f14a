/**
 * 200 clients streaming at once while 20 tasks run, over real loopback HTTP and real worker threads: every
 * client sees its task's lines in order and the `end` event, and the server is left with no open stream.
 */
import { afterEach, expect, it } from 'vitest';
import {
  closeServers,
  type Frame,
  openStream,
  type SseReader,
  serveModel,
  startTestServer,
  TOKENS,
} from './serve-helpers.js';

afterEach(closeServers);

const TASKS = 20;
const CLIENTS_PER_TASK = 9;
const FEEDS = 200 - TASKS * CLIENTS_PER_TASK;

it('200 concurrent SSE clients (180 task streams, 20 event feeds) while 20 tasks run', async () => {
  const { server, api } = await startTestServer(
    {},
    { model: serveModel(100), pool: { maxThreads: TASKS }, limits: { maxTasksPerSession: TASKS } },
  );
  const ids: string[] = [];
  for (let index = 0; index < TASKS; index++)
    ids.push((await api('/v1/tasks', { body: { goal: `work stream ${index}` } })).body.task_id);

  const feeds = await Promise.all(Array.from({ length: FEEDS }, () => openStream(server, '/v1/events')));
  const streams: { id: string; reader: SseReader }[] = [];
  await Promise.all(
    ids.flatMap((id) =>
      Array.from({ length: CLIENTS_PER_TASK }, async () => {
        streams.push({ id, reader: await openStream(server, `/v1/tasks/${id}/stream`) });
      }),
    ),
  );
  expect(server.app.stats.clients).toBe(200);
  // Every client has a first line before the tasks are told to finish: all 200 are streaming at once.
  const firsts = await Promise.all(
    streams.map(({ reader }) => reader.until((frame) => frame.event === 'line')),
  );
  expect(firsts.every((frames) => frames.at(-1)?.event === 'line')).toBe(true);

  const reading = streams.map(async ({ id, reader }, position) => {
    const frames: Frame[] = [...firsts[position]!, ...(await reader.until((frame) => frame.event === 'end'))];
    return { id, frames };
  });
  const feedEnds = feeds.map(async (feed) => {
    const ended = new Set<string>();
    while (ended.size < TASKS) {
      const frame = await feed.next();
      if (!frame) break;
      if (frame.event === 'task-end') ended.add(frame.data.task_id);
    }
    return ended;
  });
  await Promise.all(ids.map((id) => api(`/v1/tasks/${id}/steer`, { body: { message: `finish ${id}` } })));

  for (const { id, frames } of await Promise.all(reading)) {
    const lines = frames.filter((frame) => frame.event === 'line');
    const indexes = lines.map((frame) => frame.data.index as number);
    expect(indexes.every((index, at) => at === 0 || index > indexes[at - 1]!)).toBe(true);
    expect(lines.at(-1)!.data.text).toBe(`finished: finish ${id}`);
    expect(frames.at(-1)).toMatchObject({ event: 'end', data: { task_id: id, status: 'completed' } });
  }
  for (const ended of await Promise.all(feedEnds)) expect(ended.size).toBe(TASKS);
  await Promise.all(feeds.map((feed) => feed.cancel()));
  // Every stream is closed: the finished ones by the server, the feeds by their clients.
  await expect.poll(() => server.app.stats.clients).toBe(0);
  expect(server.app.stats.dropped).toBe(0);
  expect(TOKENS.length).toBe(2);
}, 120_000);
