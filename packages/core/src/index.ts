export type { ChunkKind, ErrorCode, ExitReason, ModelSpec, ToolsetSpec, Usage } from '@errand/worker';
export {
  ErrandError,
  InvalidInputError,
  LimitExceededError,
  NotFoundError,
  ShuttingDownError,
  StoreLockedError,
  TaskFinishedError,
} from './errors.js';
export type { HostModel, HostTool, HostToolContext } from './host-tools.js';
export { defineHostTool } from './host-tools.js';
export type { Limits, PoolOptions, SupervisorOptions } from './options.js';
export { DEFAULT_LIMITS } from './options.js';
export type { CheckOptions, CollectOptions } from './session.js';
export { Session } from './session.js';
export type { SqliteStore, SqliteStoreOptions } from './stores/sqlite-store.js';
export { openSqliteStore } from './stores/sqlite-store.js';
export { Supervisor } from './supervisor.js';
export type { TaskStatus, TerminalStatus } from './task-state.js';
export { isTerminal, TASK_STATUSES } from './task-state.js';
export type {
  DelegateInput,
  OutputLine,
  SteerReceipt,
  SupervisorEvents,
  TaskSnapshot,
  TaskStatusChange,
  TaskSummary,
} from './types.js';
