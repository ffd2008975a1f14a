import { InvalidInputError, NotFoundError, type Session, type TaskSnapshot } from '@errand/core';
import type { CliSettings } from './config.js';
import { openSupervisor } from './open-supervisor.js';
import { plain } from './terminal-text.js';
import { UsageError } from './usage.js';

/** Options of `errand run`. */
export interface RunOptions {
  model?: string | undefined;
  toolsets?: string[] | undefined;
  timeoutSeconds?: number | undefined;
  maxIterations?: number | undefined;
  /** Print NDJSON: one event per line (`task-start`, `task-output`, `steer-delivered`, `task-end`), then the snapshot. */
  json?: boolean | undefined;
}

/** Options of `errand resume`. */
export interface ResumeRunOptions {
  timeoutSeconds?: number | undefined;
  maxIterations?: number | undefined;
  json?: boolean | undefined;
}

/** Where a command writes: stdout and stderr. */
export interface CommandIo {
  write: (text: string) => void;
  error: (text: string) => void;
}

/**
 * Delegates one goal, streams its output, and returns the exit code: 0 when it completed, 130 when it was
 * cancelled (Ctrl-C), 1 otherwise. The first Ctrl-C cancels cooperatively; a second one terminates the worker.
 */
export function runGoal(
  goal: string,
  settings: CliSettings,
  options: RunOptions,
  io: CommandIo,
): Promise<number> {
  return follow(settings, options, io, (session) => {
    const taskId = session.delegate({
      goal,
      ...(options.model ? { model: options.model } : {}),
      ...(options.toolsets?.length ? { toolsets: options.toolsets } : {}),
      ...(options.timeoutSeconds ? { timeoutMs: Math.round(options.timeoutSeconds * 1000) } : {}),
      ...(options.maxIterations ? { maxIterations: options.maxIterations } : {}),
    });
    return { taskId, label: `task ${taskId}` };
  });
}

/**
 * Resumes a stopped task of the CLI's session from its last checkpoint as a new task, then behaves exactly as
 * {@link runGoal}: streams, exits 0 / 130 / 1. What cannot be resumed (completed, no checkpoint, an iteration
 * limit already reached) throws `UsageError` or `InvalidInputError` (the command exits 2); an id the store does not hold throws a plain error naming the store (exit 1).
 */
export function resumeTask(
  id: string,
  settings: CliSettings,
  options: ResumeRunOptions,
  io: CommandIo,
): Promise<number> {
  return follow(settings, options, io, (session, storePath) => {
    let before: TaskSnapshot;
    try {
      before = session.check(id, { previewLines: 0 });
    } catch (error) {
      throw NotFoundError.isInstance(error) ? unknownTask(id, session.id, storePath) : error;
    }
    if (before.status === 'completed') {
      throw new UsageError(
        `task ${before.id} completed: there is nothing to resume (errand show ${before.id} prints its result)`,
      );
    }
    try {
      const taskId = session.resume(before.id, {
        ...(options.timeoutSeconds ? { timeoutMs: Math.round(options.timeoutSeconds * 1000) } : {}),
        ...(options.maxIterations ? { maxIterations: options.maxIterations } : {}),
      });
      return { taskId, label: `task ${taskId} (resumes ${before.id})` };
    } catch (error) {
      // The limit counts the earlier iterations too: say so with the flag's name.
      if (
        InvalidInputError.isInstance(error) &&
        error.field === 'maxIterations' &&
        typeof error.value === 'number'
      ) {
        throw new UsageError(
          options.maxIterations
            ? `--max-iterations must be more than the ${before.iterations} iterations task ${before.id} already ran (they count toward it), got ${error.value}`
            : `task ${before.id} used up its ${error.value} iterations; pass --max-iterations above ${before.iterations} to resume it`,
        );
      }
      throw error;
    }
  });
}

/** The error for an id this session of this store does not hold: one line, exit 1. */
export function unknownTask(id: string, sessionId: string, storePath: string | undefined): Error {
  const where = storePath
    ? `in session ${JSON.stringify(sessionId)} of the store ${storePath}`
    : `in session ${JSON.stringify(sessionId)}: the memory store keeps nothing between commands`;
  return new Error(`no task ${JSON.stringify(plain(id).slice(0, 80))} ${where}`);
}

/** Starts a task with `start`, streams its output and returns the exit code (see {@link runGoal}). */
async function follow(
  settings: CliSettings,
  options: Pick<RunOptions, 'json' | 'model'>,
  io: CommandIo,
  start: (session: Session, storePath: string | undefined) => { taskId: string; label: string },
): Promise<number> {
  const { supervisor, session, storePath } = openSupervisor(settings, 'work', (line) =>
    io.error(`${line}\n`),
  );
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
    const { taskId, label } = start(session, storePath);
    id = taskId;
    if (options.json) {
      // Attached before the hand-off, which happens on a later tick: no event of this task is missed.
      supervisor.on('task-start', (snapshot) => {
        if (snapshot.id === taskId)
          event('task-start', {
            taskId,
            goal: snapshot.goal,
            startedAt: snapshot.startedAt,
            ...(snapshot.resumedFrom === undefined ? {} : { resumedFrom: snapshot.resumedFrom }),
          });
      });
      supervisor.on('steer-delivered', (delivered) => {
        if (delivered.taskId === taskId) event('steer-delivered', { taskId, seq: delivered.seq });
      });
    } else io.error(`${label}\n`);
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
  options: Pick<RunOptions, 'model'>,
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
