/**
 * One attempt at running a task on a worker thread, as the Piscina executor keeps it: plain fields beside the
 * live handles (port, bridge, timers), and the little it decides from them alone.
 */
import type { MessagePort } from 'node:worker_threads';
import { CONTROL, type OutputChunk } from '@errand/worker/protocol';
import type { SteerMessage, TaskRun } from '../../executor.js';
import type { TaskEnd } from '../../task-end.js';
import type { Checkpoint } from '../../task-store.js';
import type { BridgeHandle } from './host-bridge.js';

/** What a run keeps across moves to another thread. */
export interface Carried {
  /** The latest checkpoint: the next attempt starts from it. */
  latest: Checkpoint | undefined;
  /** The highest steering `seq` already in `latest`'s conversation. */
  steerSeq: number;
  /** The highest steering `seq` acknowledged so far: a replayed one is not acknowledged twice. */
  ackedSeq: number;
  /** Moves off threads whose culprit was unknown; past {@link MAX_BLIND_MOVES} the run fails instead. */
  blindMoves: number;
}

/** The thread-side handles of one submitted run (one attempt); dropped when it settles or moves. */
export interface Channel extends Carried {
  readonly taskId: string;
  run: TaskRun;
  /** The host's end of the task port. */
  port: MessagePort;
  /** The control block (stop flag, steering counter), shared with the worker. */
  control: Int32Array;
  bridge: BridgeHandle | undefined;
  /** Steering posted before the worker started, replayed if the run moves to a fresh thread. */
  unstartedSteers: SteerMessage[] | undefined;
  /** Every steering message sent to this attempt, for a move. */
  sent: SteerMessage[];
  /** Fires when no thread has started the run in time (a thread wedged by its previous task). */
  startTimer: NodeJS.Timeout | undefined;
  /** Hand-offs so far; the run fails after {@link MAX_HANDOFFS}. */
  handoffs: number;
  /** Set when the run moved to another thread: this attempt's settle and free are not the run's. */
  superseded: boolean;
  /** The thread Piscina posted it to, once it has. */
  threadId: number | undefined;
  /** Why the worker ended its own thread (e.g. out of memory outside the heap), for the crash message. */
  fatal: string | undefined;
  /** How the task's own code ended its thread (`process.exit(3)`, an uncaught error), when it did. */
  exiting: string | undefined;
  /** Checks, `cancelGraceMs` after steering or a stop, that the thread still yields (see `#watch`). */
  watchdog: NodeJS.Timeout | undefined;
}

/** How a stopping run on a stalled thread ends: left there, its stop status decided by the engine. */
export const stoppedWhileStalled = (): TaskEnd => ({
  status: 'cancelled',
  exitReason: 'cancelled',
  error: { code: 'cancelled', message: 'stopped while a co-tenant kept its thread from yielding' },
});

/** Hand-offs to a thread before a run that never starts is given up. */
export const MAX_HANDOFFS = 3;
/**
 * Moves a run may make off threads that died without naming a culprit (an uncaught error): the culprit moves
 * too, so a run that keeps crashing its thread fails `worker_crashed` here instead of taking others along
 * forever.
 */
export const MAX_BLIND_MOVES = 2;

/** Steering not yet acknowledged, or a stop not yet obeyed. */
export function waiting(channel: Channel): boolean {
  if (Atomics.load(channel.control, CONTROL.stop) !== 0) return true;
  return channel.sent.some((message) => message.seq > channel.ackedSeq);
}

/** The chunks without steering acknowledgements a run sent before it moved (replayed steering is re-acked). */
export function freshChunks(channel: Channel, chunks: OutputChunk[]): OutputChunk[] {
  let kept = chunks;
  const before = channel.ackedSeq;
  for (const chunk of chunks) {
    if (chunk.kind !== 'steer_ack' || chunk.seq === undefined) continue;
    if (chunk.seq <= before)
      kept = kept.filter((each) => each.kind !== 'steer_ack' || (each.seq ?? 0) > before);
    channel.ackedSeq = Math.max(channel.ackedSeq, chunk.seq);
  }
  return kept;
}
