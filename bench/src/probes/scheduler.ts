/**
 * Scheduler probe, no errand involved: `n` plain worker threads burn CPU in 10 ms slices (allocating, like
 * tool code), optionally sleeping and posting to the main thread between slices, while the main thread
 * measures its event-loop delay. Linux only (uses `chrt` / `renice` from util-linux on each thread's id).
 *
 *   node bench/dist/probes/scheduler.js <threads> <normal|nice|idle> [sleepMs] [postsPerSlice]
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';

const [threads = 2, sleepMs = 0, posts = 0] = [process.argv[2], process.argv[4], process.argv[5]].map(Number);
const mode = process.argv[3] ?? 'normal';
if (!['normal', 'nice', 'idle'].includes(mode)) throw new Error('mode: normal, nice or idle');

const body = `
const { parentPort, workerData } = require('node:worker_threads');
const { readlinkSync } = require('node:fs');
const { execFileSync } = require('node:child_process');
const tid = readlinkSync('/proc/thread-self').split('/').pop();
if (workerData.mode === 'idle') execFileSync('chrt', ['--idle', '-p', '0', tid]);
if (workerData.mode === 'nice') execFileSync('renice', ['-n', '10', '-p', tid], { stdio: 'ignore' });
let digest = 'seedseedseedseed';
function slice() {
  const start = performance.now();
  while (performance.now() - start < 10) {
    for (let i = 0; i < 100; i++) {
      const hash = Math.imul(digest.charCodeAt(i & 7) ^ i, 16777619);
      digest = (hash >>> 0).toString(16).padStart(8, '0') + digest.slice(0, 24);
    }
  }
}
(async () => {
  for (;;) {
    slice();
    for (let k = 0; k < workerData.posts; k++) parentPort.postMessage(k);
    if (workerData.sleepMs) await new Promise((resolve) => setTimeout(resolve, workerData.sleepMs));
  }
})();`;

const workers = Array.from({ length: threads }, () =>
  new Worker(body, { eval: true, workerData: { mode, sleepMs, posts } }).on('message', () => {}),
);
await new Promise((resolve) => setTimeout(resolve, 300));
const histogram = monitorEventLoopDelay({ resolution: 1 });
histogram.enable();
await new Promise((resolve) => setTimeout(resolve, 2_000));
histogram.disable();
const ms = (ns: number) => (ns / 1e6).toFixed(2);
process.stdout.write(
  `threads=${threads} mode=${mode} sleepMs=${sleepMs} posts=${posts}: main event-loop p99 ${ms(histogram.percentile(99))} ms, max ${ms(histogram.max)} ms\n`,
);
await Promise.all(workers.map((worker) => worker.terminate()));
