import type { ErrorCode as WorkerErrorCode, ExitReason as WorkerExitReason } from '@errand/worker';

/**
 * Stable error codes: the worker's (how a run failed) and the host's own (`interrupted`: the process running a
 * task died; `store_locked`: another supervisor holds the store; `unavailable`: the executor's backend, such as
 * Redis, cannot be reached). Defined here so that a host-side code needs
 * no change to the worker's protocol.
 */
export type ErrorCode = WorkerErrorCode | 'interrupted' | 'store_locked' | 'unavailable';

/** Why a task ended: the worker's reasons, and `interrupted` for a task whose process died. */
export type ExitReason = WorkerExitReason | 'interrupted';
