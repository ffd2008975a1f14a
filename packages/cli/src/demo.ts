import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Session, TaskSnapshot } from '@errand/core';
import type { CliSettings } from './config.js';
import { planDemo } from './demo-plan.js';
import { fitLines, seconds, table } from './format.js';
import { LiveView, type Row } from './live-view.js';
import { openSupervisor } from './open-supervisor.js';
import { plain } from './terminal-text.js';

/** What the demo did, for its summary and its tests. */
export interface DemoReport {
  snapshots: TaskSnapshot[];
  steered: string;
  cancelled: string;
  /** Tasks that did not end as planned (every task completes, but the cancelled one), with what happened. */
  failed: { label: string; status: string; reason: string }[];
  loopDelayP99Ms: number;
}

/**
 * A host that delegates six goals about the files under the root to background agents, keeps its own event loop
 * busy while it shows them, steers one mid-run, cancels another, then collects everything and prints a summary.
 */
export async function runDemo(
  settings: CliSettings,
  io: {
    tty: boolean;
    write: (text: string) => void;
    /** Where notices about the store go (stderr). @default write */
    error?: (text: string) => void;
    columns?: () => number | undefined;
  },
): Promise<DemoReport> {
  // The demo's tasks go to the CLI's session in its store, like `run`'s: `errand tasks` lists them afterwards.
  const { supervisor, session } = openSupervisor(
    { ...settings, thinkMs: settings.thinkMs ?? 500 },
    'work',
    (line) => (io.error ?? io.write)(`${line}\n`),
    { limits: { cancelGraceMs: 1_000 }, pool: { maxThreads: 8 } },
  );
  const plan = planDemo(settings.root);
  const view = new LiveView(io.tty, io.write, io.columns);
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  // The host's own work: a little CPU every 20 ms, to show the main thread stays free while agents think.
  let hostTicks = 0;
  const hostWork = setInterval(() => {
    hostTicks += 1;
    JSON.stringify(Array.from({ length: 2_000 }, (_, index) => index * hostTicks));
  }, 20);

  const model = settings.baseUrl ? 'a real model' : 'the offline demo model (deterministic, not an LLM)';
  view.note(`errand demo: ${plan.goals.length} background agents on ${settings.root}, using ${model}`);
  const ids = plan.goals.map(({ goal }) => session.delegate({ goal, toolsets: ['workspace', 'compute'] }));
  // Measure from here: what matters is the main thread while agents work, not module loading before it.
  delay.reset();
  const labels = new Map(ids.map((id, index) => [id, plan.goals[index]!.label]));
  const idOf = (label: string) => ids[plan.goals.findIndex((goal) => goal.label === label)]!;
  const steering = new Map<string, string>();
  const steerId = idOf(plan.steer);
  const cancelId = idOf(plan.cancel);

  supervisor.on('task-start', (snapshot) => view.note(`${labels.get(snapshot.id)}: started`));
  supervisor.on('steer-delivered', ({ taskId }) => {
    steering.set(taskId, 'steering delivered');
    view.note(`${labels.get(taskId)}: steering delivered`);
  });
  supervisor.on('task-end', (snapshot) =>
    view.note(
      `${labels.get(snapshot.id)}: ${snapshot.status} after ${seconds(snapshot.elapsedMs)} (${snapshot.iterations} iterations)`,
    ),
  );

  const redraw = setInterval(() => {
    const rows: Row[] = ids.map((id) => ({
      label: labels.get(id)!,
      snapshot: session.check(id, { previewLines: 1 }),
      ...(steering.has(id) ? { steering: steering.get(id)! } : {}),
    }));
    view.render(
      rows,
      `host event-loop delay p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms · host ticks ${hostTicks}`,
    );
  }, 100);

  // Steer one agent once it is working, and cancel another once it is deep in its job.
  const steered = (async () => {
    await firstToolCall(session, steerId);
    const receipt = session.steer(steerId, plan.steering);
    steering.set(steerId, 'steering queued');
    view.note(`${plan.steer}: steering sent (seq ${receipt.seq}, queued)`);
  })();
  const cancelled = (async () => {
    await firstToolCall(session, cancelId);
    view.note(`${plan.cancel}: cancelling (the host changed its mind)`);
    await session.cancel(cancelId, { reason: 'the host changed its mind' });
  })();

  await Promise.all([steered, cancelled]);
  const snapshots = await Promise.all(
    ids.map((id) => session.collect(id, { timeoutMs: 60_000, previewLines: 1 })),
  );
  clearInterval(redraw);
  clearInterval(hostWork);
  delay.disable();
  view.done();
  await supervisor.close();

  const loopDelayP99Ms = delay.percentile(99) / 1e6;
  const failed = snapshots
    .filter((snapshot) => snapshot.status !== (snapshot.id === cancelId ? 'cancelled' : 'completed'))
    .map((snapshot) => ({
      label: labels.get(snapshot.id)!,
      status: snapshot.status,
      reason: plain(snapshot.error?.message ?? snapshot.status),
    }));
  // On a terminal the summary fits its width too; elsewhere (logs, pipes) nothing is cut beyond the table's own caps.
  const fitted = (text: string) => fitLines(text, io.tty ? io.columns?.() : undefined);
  io.write(
    `\n${fitted(
      table(
        ['task', 'status', 'iterations', 'elapsed', 'steering', 'result'],
        snapshots.map((snapshot) => [
          labels.get(snapshot.id)!,
          snapshot.status,
          String(snapshot.iterations),
          seconds(snapshot.elapsedMs),
          snapshot.steering.sent ? `${snapshot.steering.delivered}/${snapshot.steering.sent} delivered` : '',
          (snapshot.result ?? snapshot.error?.message ?? '').replace(/^.*?\[demo model\] /, ''),
        ]),
      ),
    )}\n\nhost event-loop delay p99 while agents worked: ${loopDelayP99Ms.toFixed(1)} ms (${hostTicks} host ticks ran)\n`,
  );
  if (failed.length) {
    io.write(
      `\n${failed.length} of ${snapshots.length} agents did not finish as planned:\n${failed
        .map(({ label, status, reason }) => `  ${label}: ${status}: ${reason}`)
        .join('\n')}\n`,
    );
  }
  return { snapshots, steered: steerId, cancelled: cancelId, failed, loopDelayP99Ms };
}

/** Waits until the task's output shows its first tool call. */
async function firstToolCall(session: Session, taskId: string): Promise<void> {
  for await (const line of session.stream(taskId)) if (line.text.startsWith('→ ')) return;
}
