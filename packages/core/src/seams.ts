/**
 * The seams for executor and store implementations (`@errand/redis`): the interfaces the engine drives, the
 * plain records they carry, and the local piscina executor a remote worker runs its tasks on. Hosts use the main
 * entry; this subpath is for packages that plug into the engine.
 */
export type { ErrorCode, ExitReason } from './codes.js';
export type { ValidGoal } from './delegate-input.js';
export type { DelegationHost } from './delegation-ops.js';
export { UnavailableError } from './errors.js';
export type {
  Executor,
  ExecutorContext,
  ExecutorEvents,
  ExecutorFactory,
  SteerMessage,
  TaskRun,
} from './executor.js';
export { PiscinaExecutor } from './executors/piscina/piscina-executor.js';
export type { BullmqConnectInput, BullmqConnector } from './executors/remote/load-bullmq.js';
export { CONNECT_TIMEOUT_MS, maskUrl } from './executors/remote/load-bullmq.js';
export type { BullmqExecutorOption, ResolvedOptions } from './options.js';
export { QUEUE_NAME, resolveOptions } from './options.js';
export type { SharedStoreBackend } from './stores/shared-view-store.js';
export { SharedViewStore } from './stores/shared-view-store.js';
export type { TaskEnd } from './task-end.js';
export type { TaskStatus, TerminalStatus } from './task-state.js';
export { isTerminal } from './task-state.js';
export type { Checkpoint, OutputTail, TaskRecord, TaskRecordPatch } from './task-store.js';
