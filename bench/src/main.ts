/**
 * errand benchmarks: each suite in a fresh process, with its baselines measured in that same process and run.
 * `--quick` runs each briefly (CI smoke test: no timing is asserted); `--suite NAME` (repeatable) picks suites.
 * Writes bench/results/latest.json (full runs of every suite only).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { machine, quick, type Result } from './harness.js';
import { control } from './suites/control.js';
import { cpu } from './suites/cpu.js';
import { dispatch } from './suites/dispatch.js';
import { distributed } from './suites/distributed.js';
import { memory } from './suites/memory.js';
import { scale } from './suites/scale.js';
import { serve } from './suites/serve.js';
import { store } from './suites/store.js';
import { streaming } from './suites/streaming.js';

const format = (value: number) =>
  Number.isFinite(value)
    ? Math.abs(value) >= 100
      ? Math.round(value).toLocaleString('en-US')
      : value.toFixed(2)
    : String(value);

async function main(): Promise<void> {
  if (!(globalThis as { gc?: unknown }).gc)
    process.stderr.write('note: run with --expose-gc for memory figures\n');
  const started = Date.now();
  const results: Result[] = [];
  // `--suite NAME` (repeatable) runs only the named suites, for quick before/after comparisons.
  const only = process.argv.flatMap((arg, index) => (process.argv[index - 1] === '--suite' ? [arg] : []));
  const suites = [dispatch, cpu, streaming, control, memory, store, scale, distributed, serve];
  const unknown = only.filter((name) => !suites.some((suite) => suite.name === name));
  if (unknown.length > 0)
    throw new Error(
      `unknown suite ${unknown.join(', ')}; suites: ${suites.map((suite) => suite.name).join(', ')}`,
    );
  const chosen = suites.filter((suite) => only.length === 0 || only.includes(suite.name));
  if (process.argv.includes('--child')) {
    // One suite in this process, results as JSON for the parent.
    for (const suite of chosen) results.push(...(await suite()));
    process.stdout.write(`${JSON.stringify(results)}\n`);
    return;
  }
  for (const suite of chosen) {
    process.stderr.write(`running ${suite.name}…\n`);
    results.push(...runInChild(suite.name));
  }
  const rows = results.map((result) => [
    result.suite,
    result.metric,
    result.ratio === undefined ? '' : `${result.ratio.toFixed(2)}×`,
    `${format(result.value)} ${result.unit}`,
    result.baseline ? `${result.baseline.name}: ${format(result.baseline.value)}` : '',
    result.target ?? '',
    // A quick run is too short and too noisy to judge a target: it only shows that each suite ran to the end.
    quick ? 'ran' : result.met === undefined ? '' : result.met ? 'met' : 'MISSED',
  ]);
  const header = ['suite', 'metric', 'ratio', 'errand', 'baseline', 'target', quick ? 'smoke' : ''];
  const note = quick
    ? 'Quick smoke run: checks that every suite runs, not the targets (the figures are too short to judge them; `npm run bench` measures).\n\n'
    : '';
  const table =
    note + [header, header.map(() => '---'), ...rows].map((row) => `| ${row.join(' | ')} |`).join('\n');
  const info = {
    ...machine(),
    loadavg: loadavg().map((load) => Number(load.toFixed(2))),
    quick,
    seconds: (Date.now() - started) / 1000,
  };
  process.stdout.write(`${table}\n\n${JSON.stringify(info)}\n`);
  if (!quick && only.length === 0) {
    writeFileSync(
      new URL('../results/latest.json', import.meta.url),
      `${JSON.stringify({ machine: info, results }, null, 2)}\n`,
    );
  }
}

/**
 * Runs one suite in a fresh Node process. In-process baselines run on the main thread, and a main thread that
 * carries an earlier suite's heap and JIT state ran the same in-process agent up to 1.7× slower than a fresh
 * one, which flattered every ratio measured against it.
 */
function runInChild(name: string): Result[] {
  const args = ['--expose-gc', fileURLToPath(import.meta.url), '--child', '--suite', name];
  if (quick) args.push('--quick');
  const stdout = execFileSync(process.execPath, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '[]') as Result[];
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
