import { isTerminal, NotFoundError, TASK_STATUSES, type TaskSnapshot, type TaskStatus } from '@errand/core';
import type { CliSettings } from './config.js';
import { fitLines, seconds, table, when } from './format.js';
import { openSupervisor } from './open-supervisor.js';
import { ndjson, unknownTask } from './run.js';
import { plain } from './terminal-text.js';
import { UsageError } from './usage.js';

/** Where `tasks` and `show` write, and how wide the terminal is (undefined when stdout is not one). */
export interface InspectIo {
  write: (text: string) => void;
  error: (text: string) => void;
  columns?: () => number | undefined;
}

/** Options of `errand tasks`. */
export interface ListOptions {
  /** Only tasks in this status. */
  status?: string | undefined;
  /** Print the rows as one JSON array instead of a table. */
  json?: boolean | undefined;
}

/**
 * `errand tasks`: the CLI session's tasks in the store, oldest first, as a table fitted to the terminal (the
 * goal is cut; elsewhere nothing is), or with `--json` as a JSON array of summaries. Opening the store is also
 * what marks tasks a dead process left unfinished as `interrupted`.
 */
export async function listTasks(settings: CliSettings, options: ListOptions, io: InspectIo): Promise<number> {
  const status = options.status === undefined ? undefined : statusFlag(options.status);
  const { supervisor, session, storePath } = openSupervisor(settings, 'inspect', (line) =>
    io.error(`${line}\n`),
  );
  try {
    const tasks = session.list(status === undefined ? {} : { status });
    if (options.json) {
      io.write(`${ndjson(tasks)}\n`);
      return 0;
    }
    if (tasks.length === 0) {
      const which = status === undefined ? 'no tasks' : `no ${status} tasks`;
      io.write(
        `${which} in session ${JSON.stringify(session.id)} (${storePath ? `store ${storePath}` : 'memory store: nothing is kept between commands'})\n`,
      );
      return 0;
    }
    const rows = tasks.map((task) => [
      task.id,
      task.status,
      String(task.iterations),
      seconds(task.elapsedMs),
      when(task.createdAt),
      task.goal,
    ]);
    io.write(
      `${fitLines(table(['id', 'status', 'iterations', 'elapsed', 'created', 'goal'], rows), io.columns?.())}\n`,
    );
    return 0;
  } finally {
    await supervisor.close();
  }
}

/** Options of `errand show`. */
export interface ShowOptions {
  /** Print the snapshot (every kept output line, the whole result) as one line of JSON. */
  json?: boolean | undefined;
}

/**
 * `errand show <id>`: one task in full: goal, status and why it ended, timings, iterations, steering, usage,
 * the output tail the store kept and the whole result. An id the session does not hold throws a one-line error.
 */
export async function showTask(
  id: string,
  settings: CliSettings,
  options: ShowOptions,
  io: InspectIo,
): Promise<number> {
  const { supervisor, session, storePath } = openSupervisor(settings, 'inspect', (line) =>
    io.error(`${line}\n`),
  );
  try {
    let snapshot: TaskSnapshot;
    try {
      snapshot = session.check(id, { previewLines: supervisor.limits.outputLines });
    } catch (error) {
      throw NotFoundError.isInstance(error) ? unknownTask(id, session.id, storePath) : error;
    }
    if (options.json) io.write(`${ndjson(snapshot)}\n`);
    else io.write(describe(snapshot));
    if (isTerminal(snapshot.status) && snapshot.status !== 'completed' && !options.json) {
      io.error(`resume it with: errand resume ${snapshot.id}\n`);
    }
    return 0;
  } finally {
    await supervisor.close();
  }
}

/** A snapshot for people: one field per line, then the output tail and the result, all without escapes. */
function describe(snapshot: TaskSnapshot): string {
  const fields: Array<[string, string]> = [
    ['task', snapshot.id],
    ['goal', snapshot.goal],
    [
      'status',
      `${snapshot.status}${snapshot.exitReason && snapshot.exitReason !== snapshot.status ? ` (${snapshot.exitReason})` : ''}`,
    ],
  ];
  if (snapshot.error) fields.push(['error', `${snapshot.error.code}: ${snapshot.error.message}`]);
  if (snapshot.resumedFrom) fields.push(['resumed', `from ${snapshot.resumedFrom}`]);
  fields.push(['created', when(snapshot.createdAt)]);
  if (snapshot.startedAt !== undefined) fields.push(['started', when(snapshot.startedAt)]);
  if (snapshot.endedAt !== undefined) fields.push(['ended', when(snapshot.endedAt)]);
  fields.push(
    ['elapsed', seconds(snapshot.elapsedMs)],
    ['iterations', String(snapshot.iterations)],
    ['steering', `${snapshot.steering.sent} sent, ${snapshot.steering.delivered} delivered`],
  );
  if (snapshot.usage) {
    fields.push([
      'usage',
      `${snapshot.usage.inputTokens} input tokens, ${snapshot.usage.outputTokens} output tokens`,
    ]);
  }
  const head = fields.map(([name, value]) => `${name.padEnd(11)}${plain(value).replace(/\s+/g, ' ')}`);
  const kept = snapshot.preview.length;
  const output =
    snapshot.outputLines === 0
      ? 'output: none'
      : `output: ${kept === snapshot.outputLines ? `${kept} lines` : `the last ${kept} of ${snapshot.outputLines} lines`}\n${snapshot.preview.map((line) => `  ${plain(line)}`).join('\n')}`;
  const result = snapshot.result === undefined ? 'result: none' : `result:\n${plain(snapshot.result)}`;
  return `${head.join('\n')}\n\n${output}\n\n${result}\n`;
}

/** The `--status` value, checked against the statuses a task can have. */
function statusFlag(value: string): TaskStatus {
  if ((TASK_STATUSES as readonly string[]).includes(value)) return value as TaskStatus;
  throw new UsageError(`--status must be one of ${TASK_STATUSES.join(', ')}; got ${JSON.stringify(value)}`);
}
