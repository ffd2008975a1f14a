export type { ChunkKind, ModelSpec, ToolsetSpec, Usage } from '@errand/worker';
export type { ErrorCode, ExitReason } from './codes.js';
export type {
  DelegationTarget,
  DelegationToolDefinition,
  DelegationToolsOptions,
  ExecuteOptions,
} from './delegation-ops.js';
export { defineDelegationTools, unknownToolReply } from './delegation-ops.js';
export {
  checkReply,
  collectReply,
  delegateInput,
  errorReply,
  replyForError,
  replyForIssues,
  snake,
  summaryReply,
  toolField,
} from './delegation-replies.js';
export type { DelegationToolName, ToolBounds, ToolHints } from './delegation-schemas.js';
export { echo, replySchemas, TOOL_NAMES, toolSchemas } from './delegation-schemas.js';
export {
  ErrandError,
  InvalidInputError,
  LimitExceededError,
  NotFoundError,
  ShuttingDownError,
  StoreLockedError,
  TaskFinishedError,
  UnavailableError,
} from './errors.js';
export type { HostModel, HostTool, HostToolContext } from './host-tools.js';
export { defineHostTool } from './host-tools.js';
export type {
  BullmqExecutorOption,
  ExecutorOption,
  Limits,
  PoolOptions,
  SupervisorOptions,
} from './options.js';
export { DEFAULT_AGENTS_PER_THREAD, DEFAULT_LIMITS, DEFAULT_MAX_THREADS } from './options.js';
export type { CheckOptions, CollectOptions, ResumeOptions } from './session.js';
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
export { parseOrThrow } from './validation.js';
