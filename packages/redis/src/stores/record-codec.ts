import type { TaskRecord, TaskRecordPatch } from '@errand/core/seams';

/**
 * A record in Redis is a hash with one field per record field, each a JSON value, so that writers touching
 * different fields (the supervisor that delegated a task, the worker running it, another supervisor steering
 * it) never overwrite each other. Fields starting with `_` are errand's bookkeeping, not part of the record.
 */
export function encodeFields(patch: TaskRecordPatch | TaskRecord): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [key, value] of Object.entries(patch)) {
    if (value !== undefined) fields[key] = JSON.stringify(value);
  }
  return fields;
}

/** A patch from hash fields (as a change notice carries them). */
export function decodeFields(fields: Record<string, string>): TaskRecordPatch {
  const patch: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (key.startsWith('_')) continue;
    patch[key] = JSON.parse(value);
  }
  return patch as TaskRecordPatch;
}

/** A whole record from `HGETALL`, or undefined for a hash that is gone or incomplete. */
export function decodeRecord(fields: Record<string, string>): TaskRecord | undefined {
  if (!fields.id || !fields.status || !fields.sessionId) return undefined;
  return decodeFields(fields) as unknown as TaskRecord;
}
