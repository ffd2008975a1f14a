import { randomUUID } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { startServe } from '@errand/serve';
import { serve as serveHono } from '@hono/node-server';
import { Hono } from 'hono';
import type { LoadJob, LoadReport } from '../fixtures/http-load-worker.js';
import { fixture, percentile, quick, type Result, scriptedSupervisor, sleep } from '../harness.js';

const TOKEN = 'bench-token';

/** Runs one load job on a worker thread; `onConnected` runs when an SSE job's clients all have their headers. */
function load(job: LoadJob, onConnected?: () => void): Promise<LoadReport> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(fixture('http-load-worker')), { workerData: job });
    worker.on('message', (message: LoadReport | 'connected') => {
      if (message === 'connected') onConnected?.();
      else {
        resolve(message);
        void worker.terminate();
      }
    });
    worker.once('error', reject);
  });
}

/**
 * `errand serve` over loopback: POST /v1/tasks (delegate → id, bearer token, the tool's validation, a real
 * task per request) against a bare Hono handler that parses the same body and answers an id, both served by
 * `@hono/node-server` in this process and loaded by the same client on a worker thread; Server-Sent Events
 * lines delivered per second to 100 clients of one task; this thread's event-loop delay while it serves.
 */
export async function serve(): Promise<Result[]> {
  const requests = quick ? 400 : 5_000;
  const concurrency = 32;
  const body = JSON.stringify({ goal: 'answer ok' });
  /** A steady load well under saturation, where the event loop's delay says what serving costs it. */
  const rate = 200;
  const paced = (url: string): Extract<LoadJob, { kind: 'delegate' }> => ({
    kind: 'delegate',
    url,
    token: TOKEN,
    requests: quick ? rate : rate * 3,
    concurrency: 8,
    body,
    rate,
  });

  // Baseline: the bare handler.
  const bare = new Hono();
  bare.post('/v1/tasks', async (c) => {
    await c.req.json();
    return c.json({ task_id: randomUUID(), status: 'queued' }, 201);
  });
  const bareServer = serveHono({ fetch: bare.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise((resolve) => bareServer.once('listening', resolve));
  const bareUrl = `http://127.0.0.1:${(bareServer.address() as { port: number }).port}/v1/tasks`;
  const job = (url: string): Extract<LoadJob, { kind: 'delegate' }> => ({
    kind: 'delegate',
    url,
    token: TOKEN,
    requests,
    concurrency,
    body,
  });
  await load({ ...job(bareUrl), requests: 200 }); // warm-up
  const bareDelay = monitorEventLoopDelay({ resolution: 1 });
  bareDelay.enable();
  const bareRun = (await load(job(bareUrl))) as Extract<LoadReport, { kind: 'delegate' }>;
  bareDelay.disable();
  const barePacedDelay = monitorEventLoopDelay({ resolution: 1 });
  barePacedDelay.enable();
  await load(paced(bareUrl));
  barePacedDelay.disable();
  await new Promise((resolve) => bareServer.close(resolve));

  const supervisor = scriptedSupervisor([{ text: 'ok' }], {
    models: {
      blocker: { provider: 'scripted', turns: [{ delayMs: 600_000, text: 'never' }] },
      firehose: {
        provider: 'scripted',
        turns: [
          { toolCalls: [{ name: 'firehose', arguments: { lines: quick ? 5_000 : 20_000, width: 40 } }] },
          { text: 'done' },
        ],
      },
    },
    pool: { maxThreads: 2, minThreads: 2 },
    limits: { retainFinished: 2_000 },
  });
  const server = await startServe(supervisor, {
    port: 0,
    tokens: [{ token: TOKEN, session: 'bench' }],
    capacity: 2,
  });
  const idle = monitorEventLoopDelay({ resolution: 1 });
  idle.enable();
  await sleep(quick ? 200 : 1_000);
  idle.disable();
  const delay = monitorEventLoopDelay({ resolution: 1 });
  await load({ ...job(`${server.url}/v1/tasks`), requests: 200 }); // warm-up
  delay.enable();
  const errandRun = (await load(job(`${server.url}/v1/tasks`))) as Extract<LoadReport, { kind: 'delegate' }>;
  delay.disable();
  const pacedDelay = monitorEventLoopDelay({ resolution: 1 });
  pacedDelay.enable();
  const pacedRun = (await load(paced(`${server.url}/v1/tasks`))) as Extract<LoadReport, { kind: 'delegate' }>;
  pacedDelay.disable();
  const sseDelay = monitorEventLoopDelay({ resolution: 1 });
  sseDelay.enable();

  // SSE: 100 clients on one task's stream. A blocker holds both threads so the firehose task waits in the queue
  // until every client is connected; cancelling the blockers lets it start.
  const session = supervisor.session('bench');
  const blockers = [
    session.delegate({ goal: 'block', model: 'blocker' }),
    session.delegate({ goal: 'block', model: 'blocker' }),
  ];
  const streamed = session.delegate({ goal: 'stream', model: 'firehose', toolsets: ['bench'] });
  const clients = 100;
  const sseRun = (await load(
    { kind: 'sse', url: `${server.url}/v1/tasks/${streamed}/stream`, token: TOKEN, clients },
    () => {
      for (const id of blockers) void session.cancel(id);
    },
  )) as Extract<LoadReport, { kind: 'sse' }>;
  sseDelay.disable();
  await server.close({ graceMs: 1_000 });

  const bareRate = requests / (bareRun.elapsedMs / 1000);
  const errandRate = requests / (errandRun.elapsedMs / 1000);
  const ratio = errandRate / bareRate;
  const idleP99 = idle.percentile(99) / 1e6;
  const servingP99 = delay.percentile(99) / 1e6;
  const bareP99 = bareDelay.percentile(99) / 1e6;
  const pacedP99 = pacedDelay.percentile(99) / 1e6;
  const barePacedP99 = barePacedDelay.percentile(99) / 1e6;
  const streamingP99 = sseDelay.percentile(99) / 1e6;
  const linesPerSecond = sseRun.lines / (sseRun.elapsedMs / 1000);
  return [
    {
      suite: 'serve',
      metric: `HTTP delegate → id throughput (${concurrency} in flight, loopback)`,
      value: errandRate,
      unit: 'req/s',
      baseline: { name: 'bare Hono handler', value: bareRate },
      ratio,
      target: '≥ 0.5× bare Hono',
      met: ratio >= 0.5 && errandRun.failed === 0,
    },
    {
      suite: 'serve',
      metric: 'HTTP delegate → id p50',
      value: percentile(errandRun.latenciesMs, 50),
      unit: 'ms',
      baseline: { name: 'bare Hono', value: percentile(bareRun.latenciesMs, 50) },
    },
    {
      suite: 'serve',
      metric: 'HTTP delegate → id p99',
      value: percentile(errandRun.latenciesMs, 99),
      unit: 'ms',
      baseline: { name: 'bare Hono', value: percentile(bareRun.latenciesMs, 99) },
    },
    {
      suite: 'serve',
      metric: `SSE lines/s delivered to ${clients} clients of one task (${sseRun.ends}/${clients} saw end)`,
      value: linesPerSecond,
      unit: 'lines/s',
      met: sseRun.ends === clients,
      target: 'every client gets end',
    },
    {
      suite: 'serve',
      metric: `host event-loop p99 while serving ${rate} delegations/s (each a real task; ${pacedRun.failed} failed)`,
      value: pacedP99,
      unit: 'ms',
      baseline: { name: `bare Hono at ${rate} req/s ${barePacedP99.toFixed(2)} ms; idle`, value: idleP99 },
      ratio: pacedP99 / barePacedP99,
    },
    {
      suite: 'serve',
      metric: `host event-loop p99 at saturation (${concurrency} in flight)`,
      value: servingP99,
      unit: 'ms',
      baseline: { name: `bare Hono under the same load ${bareP99.toFixed(2)} ms; idle`, value: idleP99 },
      ratio: servingP99 / bareP99,
    },
    {
      suite: 'serve',
      metric: `host event-loop p99 while streaming to ${clients} SSE clients`,
      value: streamingP99,
      unit: 'ms',
      baseline: { name: 'idle', value: idleP99 },
      ratio: streamingP99 / idleP99,
    },
  ];
}
