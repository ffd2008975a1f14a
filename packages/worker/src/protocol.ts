/**
 * The wire protocol between the supervisor (main thread) and a task's worker.
 *
 * Defined once, here, and imported by both sides. Messages travel over the task's own `MessagePort`; the
 * cancel flag and steering counter live in a small `SharedArrayBuffer` (the control block) so that a
 * CPU-bound loop can see them with one `Atomics.load`, without yielding to its event loop.
 */
import type { MessagePort } from 'node:worker_threads';
import type { ModelSpec } from './model-specs.js';

/** Stable error codes shared by the engine, the wire and the LLM tools. */
export const ERROR_CODES = [
  'invalid_input',
  'not_found',
  'limit_exceeded',
  'task_finished',
  'shutting_down',
  'store_locked',
  'worker_crashed',
  'model_error',
  'tool_error',
  'timeout',
  'cancelled',
  'max_iterations',
] as const;
/** One of {@link ERROR_CODES}. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * An error as it crosses a thread boundary. Class identity does not survive `postMessage`, so errors travel
 * as data and are rebuilt on the main thread.
 */
export interface WireError {
  code: ErrorCode;
  name: string;
  message: string;
}

/** Kinds of output a worker streams to its parent. */
export type ChunkKind = 'text' | 'tool_call' | 'tool_result' | 'steer_ack' | 'log';

/**
 * One piece of a task's output. `text` chunks are streamed model text and may end mid-line; every other kind
 * is a whole record that the parent turns into its own line(s).
 */
export interface OutputChunk {
  kind: ChunkKind;
  text: string;
  /** For `steer_ack`: the steering message's sequence number. */
  seq?: number;
  /**
   * Newline-terminated lines cut from the front of `text` because the chunk was longer than the worker sends
   * (`MAX_CHUNK_CHARS`). The parent counts them as written and dropped before it adds `text`.
   */
  cutLines?: number;
}

/** Token counts where the model reports them. */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

/** Why an agent loop stopped. */
export type ExitReason = 'completed' | 'max_iterations' | 'cancelled' | 'timeout' | 'crashed' | 'error';

/** How a run can end, as the worker reports it. The host owns the full list of task statuses. */
export type OutcomeStatus = 'completed' | 'failed' | 'cancelled' | 'timed_out';

/** What a worker returns when its agent loop ends: the resolution value of the Piscina task. */
export interface TaskOutcome {
  status: OutcomeStatus;
  result?: string;
  error?: WireError;
  exitReason: ExitReason;
  iterations: number;
  usage?: Usage;
}

/** Indexes into the control block (an `Int32Array` over a `SharedArrayBuffer`). */
export const CONTROL = {
  /** 0 = run, {@link STOP_CANCEL} or {@link STOP_TIMEOUT}: why the parent wants the task to stop. */
  stop: 0,
  /** Incremented by the parent for every steering message posted, so a busy loop can skip an empty drain. */
  steerCount: 1,
  /**
   * Chunk batches the parent has taken in. The worker compares it with what it posted and waits (on this slot)
   * when the parent falls too far behind: output is back-pressured, never buffered without bound.
   */
  consumed: 2,
  /**
   * Bumped every {@link HEARTBEAT_MS} by a timer of the task's thread: when it stops moving, something on that
   * thread runs without yielding, and the host moves the thread's other tasks rather than let their steering
   * and cancels wait on it.
   */
  beat: 3,
  /** 1 while the task is inside a tool's synchronous code: the task to leave behind when its thread stalls. */
  busy: 4,
  /** Int32 slots in the block. */
  length: 5,
} as const;
/** How often a worker thread bumps the `beat` slot of each task it runs. */
export const HEARTBEAT_MS = 20;
/** Control value: the host cancelled the task. */
export const STOP_CANCEL = 1;
/** Control value: the task ran past its `timeoutMs`. */
export const STOP_TIMEOUT = 2;

/** Messages the parent posts on the task port. */
export type ParentMessage = { kind: 'steer'; seq: number; text: string } | { kind: 'cancel' };

/**
 * Messages the worker posts on the task port. Chunk batches are the hot path (up to millions of lines a
 * second), so the parent trusts their shape rather than validating each batch: only this module's code posts
 * on the port, and tool or model code never sees it.
 */
export type WorkerMessage =
  | { kind: 'start'; at: number }
  /** The thread is about to end itself (e.g. out of memory outside the heap): why, for the task's error. */
  | { kind: 'fatal'; message: string }
  /**
   * This task's own code is ending the thread (`process.exit` in a tool, or an uncaught error from its code, found
   * through the task's `AsyncLocalStorage` store in `process.on('exit')`): it is the culprit, and the other tasks
   * on the thread move to another one. `how` says which, e.g. `process.exit(3)`.
   */
  | { kind: 'exiting'; how: string }
  | { kind: 'chunks'; chunks: OutputChunk[]; progress?: Progress; checkpoint?: ConversationCheckpoint };

/**
 * The conversation as the next model call would see it, after a completed iteration: what a resumed run starts
 * from. Serialised in the worker, so the host only stores the string.
 */
export interface ConversationCheckpoint {
  /** Model turns completed. */
  iterations: number;
  /** `ModelMessage[]` as JSON, at most `maxCheckpointChars` long. */
  messages: string;
  /**
   * The highest steering `seq` of this run already in `messages`: a run moved to another thread from this
   * checkpoint gets the later ones again. Absent when none was.
   */
  steerSeq?: number;
}

/**
 * Where the loop stands after a model turn. It rides on the next chunk batch rather than in a message of its
 * own: every message wakes the host's main thread, and a turn ends at a flush point anyway.
 */
export interface Progress {
  iterations: number;
  lastText?: string;
  usage?: Usage;
  /**
   * What the loop timed since the last batch: iterations, model calls and tool calls. The host turns them into
   * OpenTelemetry spans under the task's span (an SDK registered on the main thread cannot see into a worker),
   * and ignores them when no SDK is registered. Appended to, never replaced, while a batch waits.
   */
  spans?: SpanRecord[];
}

/**
 * One timed step of the agent loop, as the worker reports it. Times are milliseconds since the epoch, with
 * fractions (`performance.timeOrigin + performance.now()`): every thread of the process shares the clock.
 * `iteration` opens an iteration and `iteration-end` closes it; `model` and `tool` happened inside the
 * iteration of that number. `error` is a short, redacted description of how the step failed.
 */
export type SpanRecord =
  | { kind: 'iteration'; iteration: number; start: number }
  | { kind: 'iteration-end'; iteration: number; end: number }
  | {
      kind: 'model';
      iteration: number;
      start: number;
      end: number;
      usage?: Usage;
      /** Tool calls the model asked for (0: it answered). */
      toolCalls?: number;
      error?: string;
    }
  | {
      kind: 'tool';
      iteration: number;
      start: number;
      end: number;
      name: string;
      callId: string;
      error?: string;
    };

export type {
  AiSdkModelSpec,
  HostModelSpec,
  ModelSpec,
  ModuleModelSpec,
  OpenAICompatibleModelSpec,
  ScriptedModelSpec,
  ScriptedTurn,
} from './model-specs.js';

/**
 * Where a toolset comes from: a module specifier (file URL or package name) and, for a module whose default
 * export is a factory `(options) => Toolset`, the host's options for it (plain data, e.g. a root folder).
 */
export interface ToolsetSpec {
  specifier: string;
  options?: unknown;
}

/** The host-bridge part of a task payload: present when the goal uses host tools, a host model or delegation. */
export interface BridgeSpec {
  /** The worker's end of the bridge channel (transferred). */
  port: MessagePort;
  /** Host tools this goal may use, as offered to the model (name, description, JSON Schema). */
  tools: Array<{ name: string; description: string; parameters: Record<string, unknown> }>;
  /** Longest a bridge call may take before the task treats it as failed. */
  timeoutMs: number;
}

/** Everything a worker needs to run one goal. Cloned into the worker by Piscina; `port` is transferred. */
export interface TaskPayload {
  taskId: string;
  sessionId: string;
  goal: string;
  context?: string;
  /** Allowed toolsets for this goal, by name. */
  toolsets: Record<string, ToolsetSpec>;
  model: ModelSpec;
  maxIterations: number;
  port: MessagePort;
  control: SharedArrayBuffer;
  /** Output batching: flush after this many chunks or this many milliseconds, whichever comes first. */
  batchSize: number;
  flushMs: number;
  /** Tool results longer than this are cut before they are fed back to the model. */
  maxToolResultChars: number;
  /** Longest checkpoint (JSON characters); oldest tool results are shortened first to fit. */
  maxCheckpointChars: number;
  /** Memory outside the V8 heap (Buffers, ArrayBuffers) past which the thread is ended as out of memory. */
  maxExternalBytes: number;
  /**
   * The thread may run other tasks at the same time (`pool.agentsPerThread` > 1): output back-pressure must then
   * wait asynchronously wherever it can, never park the thread's event loop under its co-tenants.
   */
  shared?: boolean;
  /** Start from this conversation instead of the goal alone (a resumed task). */
  resume?: ConversationCheckpoint;
  bridge?: BridgeSpec;
}

/** The built Piscina task entry (CommonJS; see `entry/piscina-entry.cts`). Workers need JavaScript at run time, so this points into `dist`. */
export const workerEntryUrl: URL = new URL('./entry/piscina-entry.cjs', import.meta.url);
