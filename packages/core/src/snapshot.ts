import type { Task } from './task.js';
import type { TaskRecord } from './task-store.js';
import type { TaskSnapshot, TaskSummary } from './types.js';

/**
 * A task's snapshot from its record and, while it runs, its live output buffer. O(1) apart from the preview
 * lines and a copy of its metadata.
 */
export function snapshotOf(record: TaskRecord, live: Task | undefined, previewLines: number): TaskSnapshot {
  const output = live?.output;
  const snapshot: TaskSnapshot = {
    id: record.id,
    sessionId: record.sessionId,
    status: record.status,
    goal: record.goal.goal,
    createdAt: record.createdAt,
    elapsedMs: (record.endedAt ?? Date.now()) - record.createdAt,
    iterations: record.iterations,
    preview: output ? output.tail(previewLines) : tailOf(record, previewLines),
    outputLines: output ? output.lineCount : record.outputLines,
    droppedLines: output ? output.dropped : record.droppedLines,
    steering: { ...record.steering },
  };
  if (record.startedAt !== undefined) snapshot.startedAt = record.startedAt;
  if (record.endedAt !== undefined) snapshot.endedAt = record.endedAt;
  if (record.result !== undefined) snapshot.result = record.result;
  if (record.error !== undefined) snapshot.error = { ...record.error };
  if (record.exitReason !== undefined) snapshot.exitReason = record.exitReason;
  if (record.usage !== undefined) snapshot.usage = { ...record.usage };
  if (record.resumedFrom !== undefined) snapshot.resumedFrom = record.resumedFrom;
  if (record.goal.metadata !== undefined) snapshot.metadata = structuredClone(record.goal.metadata);
  return snapshot;
}

/** One row of `list`. */
export function summaryOf(record: TaskRecord, live: Task | undefined): TaskSummary {
  return {
    id: record.id,
    status: record.status,
    goal: record.goal.goal,
    createdAt: record.createdAt,
    elapsedMs: (record.endedAt ?? Date.now()) - record.createdAt,
    iterations: record.iterations,
    outputLines: live ? live.output.lineCount : record.outputLines,
  };
}

function tailOf(record: TaskRecord, count: number): string[] {
  const lines = record.output?.lines ?? [];
  return count <= 0 ? [] : lines.slice(Math.max(0, lines.length - count));
}
