import type { Usage } from '@errand/worker';
import type { ErrorCode, ExitReason } from './codes.js';
import type { TerminalStatus } from './task-state.js';

/** How a run ended, as an executor reports it. */
export interface TaskEnd {
  status: TerminalStatus;
  result?: string;
  error?: { code: ErrorCode; message: string };
  exitReason: ExitReason;
  iterations?: number;
  usage?: Usage;
}
