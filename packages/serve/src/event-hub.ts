import { checkReply, type Supervisor, type SupervisorEvents, type TaskSnapshot } from '@errand/core';
import { PushChannel, SSE_HEARTBEAT, type SseStats, sseFrame } from './sse.js';

/** Output lines in a `task-start` or `task-end` event's `output_preview`. */
const PREVIEW_LINES = 10;

/** Options of an {@link EventHub}. */
export interface EventHubOptions {
  /** Most bytes queued for one client that is not reading before it is dropped. */
  maxBufferedBytes: number;
  /** A comment frame to every client this often. */
  heartbeatMs: number;
  stats: SseStats;
}

/**
 * `GET /v1/events`: the supervisor's events, per session, to every client subscribed to that session.
 * Listens to the supervisor once; each event is turned into a frame once and queued on each of its session's
 * channels (O(clients of that session)), so a session with no client costs one map lookup per event.
 *
 * Events, all JSON: `task-start` and `task-end` carry the task's `check_task` shape (the end one is terminal),
 * `task-output` carries `{ task_id, lines, output_lines, iterations, last_line }` (`lines` new in this batch),
 * `steer-delivered` carries `{ task_id, seq }`.
 */
export class EventHub {
  readonly #supervisor: Supervisor;
  readonly #options: EventHubOptions;
  readonly #sessions = new Map<string, Set<PushChannel>>();
  readonly #heartbeat: NodeJS.Timeout;
  readonly #listeners: { [E in keyof SupervisorEvents]?: (...args: SupervisorEvents[E]) => void };

  constructor(supervisor: Supervisor, options: EventHubOptions) {
    this.#supervisor = supervisor;
    this.#options = options;
    this.#listeners = {
      'task-start': (snapshot) => this.#publishSnapshot('task-start', snapshot),
      'task-end': (snapshot) => this.#publishSnapshot('task-end', snapshot),
      'steer-delivered': ({ taskId, sessionId, seq }) =>
        this.#publish(sessionId, () => sseFrame('steer-delivered', { task_id: taskId, seq })),
      'task-output': ({ taskId, sessionId, lines }) =>
        this.#publish(sessionId, () => {
          const snapshot = this.#supervisor.session(sessionId).check(taskId, { previewLines: 1 });
          return sseFrame('task-output', {
            task_id: taskId,
            lines,
            output_lines: snapshot.outputLines,
            iterations: snapshot.iterations,
            last_line: snapshot.preview.at(-1) ?? '',
          });
        }),
    };
    for (const [event, listener] of Object.entries(this.#listeners))
      supervisor.on(event as keyof SupervisorEvents, listener as never);
    this.#heartbeat = setInterval(() => {
      for (const channels of this.#sessions.values())
        for (const channel of channels) channel.send(SSE_HEARTBEAT);
    }, options.heartbeatMs);
    this.#heartbeat.unref();
  }

  /**
   * A new client of `sessionId`'s events. `abortConnection` drops its socket when it falls behind.
   */
  subscribe(sessionId: string, abortConnection?: () => void): PushChannel {
    let channels = this.#sessions.get(sessionId);
    if (!channels) {
      channels = new Set();
      this.#sessions.set(sessionId, channels);
    }
    const set = channels;
    const channel: PushChannel = new PushChannel({
      maxBufferedBytes: this.#options.maxBufferedBytes,
      stats: this.#options.stats,
      onClose: () => {
        set.delete(channel);
        if (set.size === 0 && this.#sessions.get(sessionId) === set) this.#sessions.delete(sessionId);
      },
      ...(abortConnection ? { abortConnection } : {}),
    });
    set.add(channel);
    return channel;
  }

  /** Ends every client's stream with `frame` (a shutting-down server's last word). */
  finishAll(frame: string): void {
    for (const channels of [...this.#sessions.values()])
      for (const channel of [...channels]) channel.finish(frame);
  }

  /** Stops listening to the supervisor and ends every stream. */
  close(frame: string): void {
    clearInterval(this.#heartbeat);
    for (const [event, listener] of Object.entries(this.#listeners))
      this.#supervisor.off(event as keyof SupervisorEvents, listener as never);
    this.finishAll(frame);
  }

  #publishSnapshot(event: 'task-start' | 'task-end', snapshot: TaskSnapshot): void {
    // The engine's snapshot carries the whole retained output; a feed event carries the latest lines only.
    const preview = snapshot.preview.slice(-PREVIEW_LINES);
    this.#publish(snapshot.sessionId, () => sseFrame(event, checkReply({ ...snapshot, preview })));
  }

  #publish(sessionId: string, frame: () => string): void {
    const channels = this.#sessions.get(sessionId);
    if (!channels || channels.size === 0) return;
    let text: string;
    try {
      text = frame();
    } catch {
      // The task was evicted between the event and now: nothing to say about it.
      return;
    }
    for (const channel of [...channels]) channel.send(text);
  }
}
