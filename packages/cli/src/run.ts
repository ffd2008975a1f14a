import { Supervisor, type TaskSnapshot } from '@errand/core';
import { type CliSettings, supervisorOptions } from './config.js';
import { plain } from './terminal-text.js';

/** Options of `errand run`. */
export interface RunOptions {
  model?: string | undefined;
  toolsets?: string[] | undefined;
  timeoutSeconds?: number | undefined;
  maxIterations?: number | undefined;
  /** Print NDJSON: one event per line (`task-start`, `task-output`, `steer-delivered`, `task-end`), then the snapshot. */
  json?: boolean | undefined;
}

/**
 * Delegates one goal, streams its output, and returns the exit code: 0 when it completed, 130 when it was
 * cancelled (Ctrl-C), 1 otherwise. The first Ctrl-C cancels cooperatively; a second one terminates the worker.
 */
export async function runGoal(
  goal: string,
  settings: CliSettings,
  options: RunOptions,
  io: { write: (text: string) => void; error: (text: string) => void },
): Promise<number> {
  const supervisor = new Supervisor(supervisorOptions(settings));
  const session = supervisor.session('cli');
  const event = (name: string, fields: object) => io.write(`${ndjson({ event: name, ...fields })}\n`);
  let interrupts = 0;
  let id: string | undefined;
  const onInterrupt = () => {
    interrupts += 1;
    if (interrupts === 1 && id !== undefined) {
      io.error('\ncancelling… (Ctrl-C again to stop at once)\n');
      void session.cancel(id, { reason: 'interrupted (Ctrl-C)' });
    } else {
      void supervisor.close({ graceMs: 0 });
    }
  };
  process.on('SIGINT', onInterrupt);
  try {
    const taskId = session.delegate({
      goal,
      ...(options.model ? { model: options.model } : {}),
      ...(options.toolsets?.length ? { toolsets: options.toolsets } : {}),
      ...(options.timeoutSeconds ? { timeoutMs: Math.round(options.timeoutSeconds * 1000) } : {}),
      ...(options.maxIterations ? { maxIterations: options.maxIterations } : {}),
    });
    id = taskId;
    if (options.json) {
      // Attached before the hand-off, which happens on a later tick: no event of this task is missed.
      supervisor.on('task-start', (snapshot) => {
        if (snapshot.id === taskId)
          event('task-start', { taskId, goal: snapshot.goal, startedAt: snapshot.startedAt });
      });
      supervisor.on('steer-delivered', (delivered) => {
        if (delivered.taskId === taskId) event('steer-delivered', { taskId, seq: delivered.seq });
      });
    } else io.error(`task ${taskId}\n`);
    // Output comes from files, tools and models: print it without terminal escape sequences.
    for await (const line of session.stream(taskId)) {
      if (options.json) event('task-output', { taskId, index: line.index, text: line.text });
      else io.write(`${plain(line.text)}\n`);
    }
    const snapshot = await session.collect(taskId, { timeoutMs: 0 });
    const failure = describeFailure(snapshot, settings, options);
    if (options.json) {
      // task-end is written here rather than from the event, so that it follows the task's last output line.
      event('task-end', {
        taskId,
        status: snapshot.status,
        exitReason: snapshot.exitReason,
        iterations: snapshot.iterations,
        elapsedMs: snapshot.elapsedMs,
        ...(failure ? { error: { code: snapshot.error?.code, message: failure } } : {}),
      });
      io.write(`${ndjson(snapshot)}\n`);
    } else {
      io.error(
        `\n${snapshot.status} after ${snapshot.iterations} iterations${failure ? ` (${failure})` : ''}\n`,
      );
    }
    if (snapshot.status === 'completed') return 0;
    return snapshot.status === 'cancelled' ? 130 : 1;
  } finally {
    process.off('SIGINT', onInterrupt);
    await supervisor.close({ graceMs: 500 });
  }
}

/**
 * The task's error in one phrase: `code: message`, without repeating a code the message already starts with
 * (a cancel reason reads "cancelled: interrupted (Ctrl-C)"), and naming the server a failed model call went to.
 */
function describeFailure(
  snapshot: TaskSnapshot,
  settings: CliSettings,
  options: RunOptions,
): string | undefined {
  if (!snapshot.error) return undefined;
  const { code } = snapshot.error;
  const message = plain(snapshot.error.message);
  let text = message.startsWith(`${code}:`) ? message : `${code}: ${message}`;
  const remote = settings.baseUrl && settings.modelId && (options.model ?? 'remote') === 'remote';
  if (code === 'model_error' && remote && !text.includes(settings.baseUrl!)) {
    text += ` (model server ${settings.baseUrl}, model ${settings.modelId})`;
  }
  return text;
}

/**
 * One line of JSON whose strings carry no raw control character: `JSON.stringify` escapes C0 but writes DEL and
 * C1 (U+009B is a one-character CSI) as they are, so those are escaped too. Parsing it gives back the same value.
 */
export function ndjson(value: unknown): string {
  return JSON.stringify(value).replace(
    /\p{Cc}/gu,
    (control) => `\\u${control.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** {@link ndjson}, indented: raw newlines there are the layout's own (JSON.stringify escaped those in strings). */
export function jsonForTerminal(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    /(?![\n\t])\p{Cc}/gu,
    (control) => `\\u${control.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
