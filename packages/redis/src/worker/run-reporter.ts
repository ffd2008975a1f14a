import type { Checkpoint, TaskEnd } from '@errand/core/seams';
import type { OutputChunk, Progress } from '@errand/worker/protocol';
import { FINISHED_TTL_SECONDS } from '../keys.js';
import type { Link, UpdateExtras } from '../link.js';
import type { FeedEvent } from '../wire.js';

/**
 * What a worker writes to Redis about the runs it has: every event on the feed stream (for the supervisor that
 * delegated the task), the output also into the task's capped stream, checkpoints under the task's key, and
 * the record's start, progress and end itself, so a task whose supervisor is gone still ends in the shared
 * store. Each event is one script call (feed, stream and record in one step) on one connection, so Redis sees
 * them in the order they happened.
 */
export class RunReporter {
  readonly #link: Link;
  readonly #maxResultChars: number;
  readonly #onError: (error: Error) => void;

  constructor(link: Link, maxResultChars: number, onError: (error: Error) => void) {
    this.#link = link;
    this.#maxResultChars = maxResultChars;
    this.#onError = onError;
  }

  started(id: string, sessionId: string): void {
    const at = Date.now();
    this.#link
      .update(
        id,
        sessionId,
        { status: 'running', startedAt: at },
        { append: { status: 'running', at }, feed: feedOf({ t: 'start', id }) },
      )
      .catch(this.#onError);
  }

  /** Output and progress: the feed event, the task's output stream and the record, in one step. */
  output(
    id: string,
    sessionId: string,
    chunks: readonly OutputChunk[],
    progress: Progress | undefined,
  ): void {
    const event: FeedEvent = { t: 'output', id, chunks: [...chunks] };
    if (progress) event.progress = progress;
    const patch: Parameters<Link['update']>[2] = {};
    if (progress) {
      patch.iterations = progress.iterations;
      if (progress.lastText !== undefined) patch.lastText = progress.lastText.slice(0, this.#maxResultChars);
      if (progress.usage) patch.usage = progress.usage;
    }
    const extras: UpdateExtras = { feed: feedOf(event) };
    if (chunks.length > 0) extras.output = JSON.stringify(chunks);
    this.#link.update(id, sessionId, patch, extras).catch(this.#onError);
  }

  checkpoint(id: string, sessionId: string, checkpoint: Checkpoint): void {
    const { client, keys } = this.#link;
    client
      .set(keys.checkpoint(id), JSON.stringify(checkpoint), 'EX', FINISHED_TTL_SECONDS)
      .catch(this.#onError);
    this.#link
      .update(
        id,
        sessionId,
        {},
        {
          checkpointIterations: checkpoint.iterations,
          feed: feedOf({ t: 'checkpoint', id, iterations: checkpoint.iterations }),
        },
      )
      .catch(this.#onError);
  }

  /** The run's end: on the feed, and into the record unless the supervisor wrote it first. */
  settled(id: string, sessionId: string, end: TaskEnd): void {
    const at = Date.now();
    const patch: Parameters<Link['update']>[2] = {
      status: end.status,
      endedAt: at,
      exitReason: end.exitReason,
    };
    if (end.result !== undefined) patch.result = end.result.slice(0, this.#maxResultChars);
    if (end.error) patch.error = end.error;
    if (end.iterations !== undefined) patch.iterations = end.iterations;
    if (end.usage) patch.usage = end.usage;
    this.#link
      .update(id, sessionId, patch, {
        append: { status: end.status, at },
        feed: feedOf({ t: 'settle', id, end }),
      })
      .catch(this.#onError);
  }
}

const feedOf = (event: FeedEvent): string => JSON.stringify(event);
