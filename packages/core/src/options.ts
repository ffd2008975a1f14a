import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type ModelSpec, modelSpecSchema, type ToolsetSpec } from '@errand/worker';
import { z } from 'zod';
import { describeValue, InvalidInputError } from './errors.js';
import type { HostModel, HostTool } from './host-tools.js';
import { parseOrThrow } from './validation.js';

/** Bounds on everything a caller or a model can make the engine hold. */
export interface Limits {
  /** Longest goal, in characters. @default 20_000 */
  maxGoalChars: number;
  /** Longest context, in characters. @default 100_000 */
  maxContextChars: number;
  /** Longest steering message, in characters. @default 4_000 */
  maxSteerChars: number;
  /** Largest `metadata`, as JSON characters. @default 10_000 */
  maxMetadataChars: number;
  /** Unfinished (queued + running) tasks one session may have. @default 16 */
  maxTasksPerSession: number;
  /**
   * Tasks waiting for a thread, across the supervisor. One session may fill it on its own (within
   * `maxTasksPerSession`); a session with nothing waiting may still queue its first task in a reserve of a
   * tenth more (at least 1), so sessions that each stay under `maxTasksPerSession` (63 × 16 with the defaults)
   * cannot lock everyone else out. The queue never holds more than `maxQueued` + that reserve. Waiting tasks
   * start round-robin by session, in the order sessions began to wait.
   * @default 1_000
   * @example { maxQueued: 100 } // up to 100 of anyone's tasks, plus 10 more sessions' first tasks
   */
  maxQueued: number;
  /** Finished tasks kept for `check`/`collect`, across the supervisor; the oldest is evicted first. @default 1_000 */
  retainFinished: number;
  /** Model turns per goal when `delegate` does not say. @default 50 */
  defaultMaxIterations: number;
  /** Highest `maxIterations` a goal may ask for. @default 1_000 */
  maxIterations: number;
  /** Run time per goal when `delegate` does not say (counted from when it starts running). @default 1_800_000 */
  defaultTimeoutMs: number;
  /** Highest `timeoutMs` a goal may ask for. @default 86_400_000 */
  maxTimeoutMs: number;
  /** How long a cancelled task may take to stop cooperatively before its worker is terminated. @default 2_000 */
  cancelGraceMs: number;
  /** Output lines kept per task. @default 200 */
  outputLines: number;
  /** Characters kept per output line. @default 500 */
  outputLineChars: number;
  /** Steering messages sent but not yet delivered, per task. @default 32 */
  maxPendingSteers: number;
  /** Tool results longer than this are cut before the model sees them. @default 20_000 */
  maxToolResultChars: number;
  /** How deep delegation may nest: 1 lets top-level orchestrators delegate, and their children cannot. @default 1 */
  maxDepth: number;
  /** Longest a host-bridge call (host tool, host model, delegation op) may take. @default 60_000 */
  hostCallTimeoutMs: number;
  /**
   * Longest final result (and partial result) kept on a snapshot, in characters; a longer one keeps its
   * beginning and ends with a marker saying how much was cut.
   * @default 1_000_000
   */
  maxResultChars: number;
  /**
   * Longest conversation checkpoint, in JSON characters, kept after every completed iteration (what `resume`
   * starts from). Oldest tool results are shortened first to fit.
   * @default 2_000_000
   */
  maxCheckpointChars: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxGoalChars: 20_000,
  maxContextChars: 100_000,
  maxSteerChars: 4_000,
  maxMetadataChars: 10_000,
  maxTasksPerSession: 16,
  maxQueued: 1_000,
  retainFinished: 1_000,
  defaultMaxIterations: 50,
  maxIterations: 1_000,
  defaultTimeoutMs: 30 * 60_000,
  maxTimeoutMs: 24 * 60 * 60_000,
  cancelGraceMs: 2_000,
  outputLines: 200,
  outputLineChars: 500,
  maxPendingSteers: 32,
  maxToolResultChars: 20_000,
  maxDepth: 1,
  hostCallTimeoutMs: 60_000,
  maxResultChars: 1_000_000,
  maxCheckpointChars: 2_000_000,
});

/**
 * Threads when `pool.maxThreads` is not given: one per core but one, so that busy agents leave a core to the
 * host's main thread (its event-loop p99 stays near idle, BENCHMARKS.md).
 */
export const DEFAULT_MAX_THREADS = Math.max(1, availableParallelism() - 1);
/**
 * Agents per thread when neither `pool.maxThreads` nor `pool.agentsPerThread` is given: 64 model-waiting agents
 * run at once even on one thread (a waiting agent costs well under a megabyte, BENCHMARKS.md `scale`).
 */
export const DEFAULT_AGENTS_PER_THREAD = 64;

/** The worker pool. */
export interface PoolOptions {
  /**
   * Worker threads. Agents running at once are `maxThreads × agentsPerThread`.
   * @default the number of cores minus one, at least 1 (`os.availableParallelism() - 1`), so that busy agents
   * leave a core to the host's main thread
   */
  maxThreads?: number;
  /**
   * Agents one thread runs at once (Piscina's `concurrentTasksPerWorker`). Agents mostly wait on their model, so
   * many share a thread cheaply; a CPU-bound tool holds its whole thread while it runs. When a thread dies (a
   * hard cancel, `process.exit`, out of memory), the other agents on it move to another thread from their last
   * checkpoint, losing at most their iteration in progress.
   * @default 64 when `maxThreads` is not given either; 1 when `maxThreads` is given (it then keeps its old
   * meaning: one agent per thread)
   * @example { maxThreads: 2, agentsPerThread: 32 } // 64 agents at once on two threads
   */
  agentsPerThread?: number;
  /** Threads kept warm when idle. @default 1 */
  minThreads?: number;
  /** How long an idle thread is kept (starting one costs ~27 ms). @default 60_000 */
  idleTimeoutMs?: number;
  /**
   * How much lower than the host's the worker threads' CPU priority is (Unix `nice`, applied per thread by
   * Piscina through `@napi-rs/nice`, Piscina's own optional dependency). Busy agents then yield the CPU to the
   * host's main thread when cores are scarce. 0 leaves them equal.
   * @default 10
   */
  niceIncrement?: number;
  /** Alias of `idleTimeoutMs`, under Piscina's name. */
  idleTimeout?: number;
  /** V8 old-generation cap per worker; a task past it ends `failed` with `worker_crashed`. @default 512 */
  maxOldGenerationSizeMb?: number;
  /**
   * Node's per-worker `resourceLimits`, as Piscina and `worker_threads` take them. `maxOldGenerationSizeMb`
   * here wins over the flat option.
   */
  resourceLimits?: {
    maxOldGenerationSizeMb?: number;
    maxYoungGenerationSizeMb?: number;
    codeRangeSizeMb?: number;
    stackSizeMb?: number;
  };
  /** Output chunks per message from a worker. @default 64 */
  outputBatchSize?: number;
  /** Longest a chunk waits in the worker before it is sent. @default 16 */
  outputFlushMs?: number;
  /**
   * How long a thread may take to start a task handed to it. A thread that does not (its event loop is kept
   * busy by a timer its previous task left behind) is terminated and the task moves to a fresh thread, up to
   * three times before it fails `worker_crashed`.
   * @default 10_000
   */
  startTimeoutMs?: number;
  /**
   * Memory a worker thread may hold outside the V8 heap (Buffers, ArrayBuffers), in MB. `resourceLimits` caps
   * the heap only, and this memory counts against the host process. Sampled at output, checkpoints and every
   * 100 ms; past it the thread is ended and its task fails `worker_crashed` ("out of memory: … outside the
   * heap"). A synchronous loop that never emits nor checkpoints cannot be sampled.
   * @default 512
   */
  maxExternalMb?: number;
}

/** Options for `new Supervisor()`. */
export interface SupervisorOptions {
  /** The model a goal uses when it names no profile. @example { provider: 'scripted', turns: [{ text: 'done' }] } */
  model: ModelSpec;
  /**
   * Named model profiles a goal (or an LLM, through `delegate_task_async`) may choose by name. Callers pick a
   * name only, never a URL or key.
   * @example { fast: { provider: 'module', specifier: '/abs/fast-model.js' } }
   */
  models?: Record<string, ModelSpec>;
  /**
   * The toolsets goals may ask for, by name: a module specifier (absolute path, file URL, or a package name
   * resolved from `process.cwd()`), or `{ specifier, options }` for a module whose default export is a
   * factory taking the host's options (plain data: it is cloned into the worker). This is the allow-list; a
   * goal names toolsets, never modules.
   * @example { workspace: { specifier: '@errand/worker/toolsets/workspace', options: { root: process.cwd() } } }
   */
  toolsets?: Record<string, string | ToolsetSpec>;
  /** Overrides for {@link DEFAULT_LIMITS}. */
  limits?: Partial<Limits>;
  /**
   * Tools that run on the host's main thread, offered to agents whose goal allows the `host` toolset.
   * @example { lookup_user: defineHostTool({ description, input: z.object({ id: z.string() }), run: ({ id }) => db.get(id) }) }
   */
  hostTools?: Record<string, HostTool>;
  /** Model functions for `{ provider: 'host', name }` specs: the turn runs on the host, credentials stay there. */
  hostModels?: Record<string, HostModel>;
  /** The worker threads that run agents (the default `piscina` executor). */
  pool?: PoolOptions;
  /**
   * Where task records live. Plain data, so a JSON config can carry it. `sqlite` keeps every record, its full
   * result, output tail and latest checkpoint in one file (needs the optional `better-sqlite3@12`), so tasks
   * survive a restart: those left unfinished by a process that died end `interrupted` and can be resumed.
   * @default { kind: 'memory' }
   * @example { kind: 'sqlite', path: '/var/lib/my-host/errand.db' }
   */
  store?: { kind: 'memory' } | { kind: 'sqlite'; path: string };
  /**
   * Where tasks run. Plain data, so a JSON config can carry it. `bullmq` (needs `@errand/redis` installed)
   * enqueues every goal on a BullMQ queue in Redis, where `errand worker` processes on any machine run it; the
   * task store is then Redis too, shared by every supervisor on the same Redis and queue (`store` must stay
   * `memory`). Toolsets and model profiles then live in the workers' config: a goal names them and the worker
   * that takes it resolves the names.
   * @default { kind: 'piscina' } (worker threads of this process, configured by `pool`)
   * @example { kind: 'bullmq', connection: 'redis://127.0.0.1:6379', queue: 'errand' }
   */
  executor?: ExecutorOption;
}

/** Where tasks run: this process's threads, or BullMQ workers reached through Redis. */
export type ExecutorOption = { kind: 'piscina' } | BullmqExecutorOption;

/** The BullMQ executor: plain data, so a JSON config can carry it. */
export interface BullmqExecutorOption {
  kind: 'bullmq';
  /** The Redis URL: `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. */
  connection: string;
  /** The BullMQ queue (and the prefix of errand's own keys); every supervisor and worker of a cluster names the same one. @default 'errand' */
  queue?: string;
}

/** Queue names: they become parts of Redis keys. */
export const QUEUE_NAME = /^[a-zA-Z0-9_.-]{1,64}$/;

const count = (max = Number.MAX_SAFE_INTEGER) => z.number().int().min(1).max(max);
const limitsSchema = z
  .object({
    maxGoalChars: count(),
    maxContextChars: count(),
    maxSteerChars: count(),
    maxMetadataChars: count(),
    maxTasksPerSession: count(),
    maxQueued: count(),
    retainFinished: count(),
    defaultMaxIterations: count(),
    maxIterations: count(),
    defaultTimeoutMs: count(2 ** 31 - 1),
    maxTimeoutMs: count(2 ** 31 - 1),
    cancelGraceMs: z
      .number()
      .int()
      .nonnegative()
      .max(2 ** 31 - 1),
    outputLines: count(100_000),
    outputLineChars: count(1_000_000),
    maxPendingSteers: count(),
    maxToolResultChars: count(),
    maxDepth: z.number().int().nonnegative().max(16),
    hostCallTimeoutMs: count(2 ** 31 - 1),
    maxResultChars: count(100_000_000),
    maxCheckpointChars: count(100_000_000),
  })
  .partial()
  .strict();

const poolSchema = z
  .object({
    maxThreads: count(1_024),
    agentsPerThread: count(10_000),
    minThreads: z.number().int().nonnegative().max(1_024),
    idleTimeoutMs: z.number().int().nonnegative(),
    idleTimeout: z.number().int().nonnegative(),
    niceIncrement: z.number().int().min(0).max(19),
    maxOldGenerationSizeMb: count(),
    resourceLimits: z
      .object({
        maxOldGenerationSizeMb: count(),
        maxYoungGenerationSizeMb: count(),
        codeRangeSizeMb: count(),
        stackSizeMb: z.number().positive(),
      })
      .partial()
      .strict(),
    outputBatchSize: count(100_000),
    outputFlushMs: z.number().int().nonnegative().max(60_000),
    startTimeoutMs: count(2 ** 31 - 1),
    maxExternalMb: count(1_048_576),
  })
  .partial()
  .strict();

const optionsSchema = z
  .object({
    model: modelSpecSchema,
    models: z.record(z.string().regex(/^[a-zA-Z0-9_.-]{1,64}$/), modelSpecSchema).optional(),
    toolsets: z
      .record(
        z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/),
        z.union([
          z.string().min(1),
          z.object({ specifier: z.string().min(1), options: z.unknown().optional() }).strict(),
        ]),
      )
      .optional(),
    limits: limitsSchema.optional(),
    pool: poolSchema.optional(),
    // Functions cannot be described by a schema; `resolveOptions` checks them one by one.
    hostTools: z.record(z.string(), z.any()).optional(),
    hostModels: z.record(z.string(), z.any()).optional(),
    store: z
      .discriminatedUnion('kind', [
        z.object({ kind: z.literal('memory') }).strict(),
        z.object({ kind: z.literal('sqlite'), path: z.string().min(1) }).strict(),
      ])
      .optional(),
    executor: z
      .discriminatedUnion('kind', [
        z.object({ kind: z.literal('piscina') }).strict(),
        z
          .object({
            kind: z.literal('bullmq'),
            connection: z.string().regex(/^rediss?:\/\/./, 'a redis:// or rediss:// URL'),
            queue: z.string().regex(QUEUE_NAME, 'a queue name of [a-zA-Z0-9_.-] (1 to 64)').optional(),
          })
          .strict(),
      ])
      .optional(),
  })
  .strict();

/** Options after validation and defaults. */
export interface ResolvedOptions {
  store: NonNullable<SupervisorOptions['store']>;
  executor: { kind: 'piscina' } | Required<BullmqExecutorOption>;
  hostTools: Record<string, HostTool>;
  hostModels: Record<string, HostModel>;
  model: ModelSpec;
  models: Record<string, ModelSpec>;
  toolsets: Record<string, ToolsetSpec>;
  limits: Limits;
  pool: ResolvedPool;
}

/** Pool options after defaults. */
export interface ResolvedPool {
  maxThreads: number;
  agentsPerThread: number;
  niceIncrement: number;
  minThreads: number;
  idleTimeoutMs: number;
  resourceLimits: NonNullable<PoolOptions['resourceLimits']> & { maxOldGenerationSizeMb: number };
  outputBatchSize: number;
  outputFlushMs: number;
  startTimeoutMs: number;
  maxExternalMb: number;
}

export function resolveOptions(options: SupervisorOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object')
    throw new InvalidInputError('options', options, `must be an object, got ${describeValue(options)}`);
  const parsed = { data: parseOrThrow(optionsSchema, options, 'option') };
  const limits = { ...DEFAULT_LIMITS, ...stripUndefined(parsed.data.limits ?? {}) } as Limits;
  const given = parsed.data.pool;
  const maxThreads = given?.maxThreads ?? DEFAULT_MAX_THREADS;
  const pool: ResolvedPool = {
    maxThreads,
    agentsPerThread:
      given?.agentsPerThread ?? (given?.maxThreads === undefined ? DEFAULT_AGENTS_PER_THREAD : 1),
    minThreads: Math.min(given?.minThreads ?? 1, maxThreads),
    idleTimeoutMs: given?.idleTimeoutMs ?? given?.idleTimeout ?? 60_000,
    niceIncrement: given?.niceIncrement ?? 10,
    resourceLimits: {
      ...(stripUndefined(given?.resourceLimits ?? {}) as NonNullable<PoolOptions['resourceLimits']>),
      maxOldGenerationSizeMb:
        given?.resourceLimits?.maxOldGenerationSizeMb ?? given?.maxOldGenerationSizeMb ?? 512,
    },
    outputBatchSize: parsed.data.pool?.outputBatchSize ?? 64,
    outputFlushMs: parsed.data.pool?.outputFlushMs ?? 16,
    startTimeoutMs: parsed.data.pool?.startTimeoutMs ?? 10_000,
    maxExternalMb: parsed.data.pool?.maxExternalMb ?? 512,
  };
  const toolsets: Record<string, ToolsetSpec> = {};
  for (const [name, entry] of Object.entries(parsed.data.toolsets ?? {})) {
    const spec = typeof entry === 'string' ? { specifier: entry } : entry;
    toolsets[name] = {
      specifier: resolveSpecifier(spec.specifier),
      ...(spec.options === undefined ? {} : { options: spec.options }),
    };
  }
  const hostTools = options.hostTools ?? {};
  for (const [name, tool] of Object.entries(hostTools)) {
    if (
      !/^[a-zA-Z0-9_-]{1,64}$/.test(name) ||
      typeof tool?.run !== 'function' ||
      typeof tool.input?.safeParse !== 'function'
    ) {
      throw new InvalidInputError(
        `hostTools.${name}`,
        tool,
        'must have a name of [a-zA-Z0-9_-] (1 to 64), a zod `input` and a `run` function',
      );
    }
  }
  const hostModels = options.hostModels ?? {};
  for (const spec of [parsed.data.model, ...Object.values(parsed.data.models ?? {})]) {
    if (spec.provider === 'host' && typeof hostModels[spec.name] !== 'function') {
      throw new InvalidInputError(
        'hostModels',
        spec.name,
        `has no host model named "${spec.name}" (a model spec with provider "host" names it)`,
      );
    }
  }
  if (Object.hasOwn(toolsets, 'host'))
    throw new InvalidInputError('toolsets.host', 'host', 'is reserved: "host" names the host tools');
  const executor = parsed.data.executor ?? { kind: 'piscina' };
  if (executor.kind === 'bullmq' && parsed.data.store?.kind === 'sqlite') {
    throw new InvalidInputError(
      'store',
      parsed.data.store,
      'must be memory (or left out) with the bullmq executor: its tasks are kept in Redis',
    );
  }
  return {
    store: parsed.data.store ?? { kind: 'memory' },
    executor: executor.kind === 'bullmq' ? { ...executor, queue: executor.queue ?? 'errand' } : executor,
    model: parsed.data.model,
    models: parsed.data.models ?? {},
    toolsets,
    limits,
    pool,
    hostTools,
    hostModels,
  };
}

/**
 * Makes a toolset specifier loadable from a worker: a worker resolves bare names from errand's own install,
 * which may not see the host's packages, so bare names are resolved here, from `process.cwd()`.
 */
export function resolveSpecifier(specifier: string): string {
  if (isAbsolute(specifier)) return pathToFileURL(specifier).href;
  if (/^[a-z][a-z0-9+.-]*:/i.test(specifier)) return specifier;
  try {
    return pathToFileURL(createRequire(join(process.cwd(), 'noop.js')).resolve(specifier)).href;
  } catch {
    return specifier;
  }
}

/** Drops `undefined` values, so spreading options over defaults never erases a default. */
function stripUndefined<T extends object>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as never;
}
