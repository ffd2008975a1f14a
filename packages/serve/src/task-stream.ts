import { checkReply, type OutputLine, type Session } from '@errand/core';
import { type ClosableStream, SSE_HEARTBEAT, SSE_PREAMBLE, type SseStats, sseFrame } from './sse.js';

const encoder = new TextEncoder();

/** Most line frames in one chunk. */
const BATCH_LINES = 64;

const LATER = Symbol('later');
/** Resolves with {@link LATER} once the event loop has gone round (after the microtasks and I/O of this turn). */
const nextTurn = () => new Promise<typeof LATER>((resolve) => setImmediate(resolve, LATER));

/** Options of {@link taskStream}. */
export interface TaskStreamOptions {
  /** Resume after this line index (the `Last-Event-ID` the client sent): earlier lines are skipped. */
  after?: number | undefined;
  /** A comment frame this often while nothing else is sent. */
  heartbeatMs: number;
  stats: SseStats;
  /** Called once when the stream ends, for whatever reason. */
  onClose: (stream: ClosableStream) => void;
}

/**
 * `GET /v1/tasks/:id/stream`: the task's buffered tail, then live lines, then `event: end` with the terminal
 * snapshot (the `check_task` shape), then the stream closes. Each line is `id: <index>`, `event: line`,
 * `data: {"index","text"}`, so a reconnecting client's `Last-Event-ID` resumes after the last line it saw.
 *
 * Pull-based: a line is taken from the session's `stream()` only when the response asks for the next one, and
 * the response asks only as fast as the socket drains. A slow client therefore holds no queue at all here; like
 * any consumer of `stream()` that falls behind the task's ring buffer, it skips the lines that left the buffer
 * (the indexes jump). The caller has checked that the task exists in this session.
 */
export function taskStream(
  session: Session,
  taskId: string,
  options: TaskStreamOptions,
): { stream: ReadableStream<Uint8Array>; handle: ClosableStream } {
  const lines = session.stream(taskId);
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  let closed = false;
  let heartbeat: NodeJS.Timeout | undefined;
  /** A read started by an earlier pull that had not resolved by the end of its turn. */
  let held: Promise<IteratorResult<OutputLine, void>> | undefined;
  options.stats.clients += 1;

  const close = () => {
    if (closed) return;
    closed = true;
    options.stats.clients -= 1;
    clearInterval(heartbeat);
    // A generator waiting for the task's next line finishes when that line (or the end) comes.
    void lines.return?.();
    options.onClose(handle);
  };
  const enqueue = (text: string) => {
    if (!closed) controller?.enqueue(encoder.encode(text));
  };
  const handle: ClosableStream = {
    finish(frame) {
      if (closed) return;
      enqueue(frame);
      controller?.close();
      close();
    },
  };

  const stream = new ReadableStream<Uint8Array>(
    {
      start(started) {
        controller = started;
        started.enqueue(encoder.encode(SSE_PREAMBLE));
        heartbeat = setInterval(() => enqueue(SSE_HEARTBEAT), options.heartbeatMs);
        heartbeat.unref();
      },
      async pull(pulled) {
        // Lines already in the ring buffer go out as one chunk (one socket write) of up to BATCH_LINES frames:
        // after the first line, further ones are taken only while they come without waiting (before the next
        // turn of the event loop); a pending read is kept for the next pull.
        let text = '';
        let taken = 0;
        for (;;) {
          const read = held ?? lines.next();
          held = undefined;
          const next = taken === 0 ? await read : await Promise.race([read, nextTurn()]);
          if (closed) return;
          if (next === LATER) {
            held = read;
            break;
          }
          if (next.done) {
            enqueue(text + sseFrame('end', endSnapshot(session, taskId)));
            pulled.close();
            close();
            return;
          }
          const line = next.value;
          if (options.after !== undefined && line.index <= options.after) continue;
          text += sseFrame('line', { index: line.index, text: line.text }, line.index);
          taken += 1;
          if (taken >= BATCH_LINES) break;
        }
        enqueue(text);
      },
      cancel: close,
    },
    // Two chunks (of up to BATCH_LINES frames) may wait for the socket; beyond that no line is taken from the task.
    { highWaterMark: 2 },
  );
  return { stream, handle };
}

/** The terminal snapshot for `event: end`, or what is known when the record was evicted meanwhile. */
function endSnapshot(session: Session, taskId: string): unknown {
  try {
    return checkReply(session.check(taskId, { previewLines: 0 }));
  } catch {
    return { task_id: taskId };
  }
}
