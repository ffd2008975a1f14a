import type { ModelMessage } from './model.js';
import type { ConversationCheckpoint } from './protocol.js';

/** Tool results in a checkpoint that had to shrink keep this many characters. */
const SHORTENED_CHARS = 200;
const SHORTENED_MARK = '… [shortened in the checkpoint]';

/** The note a resumed agent finds after its earlier conversation. */
export const RESUMED_NOTE =
  '[errand] This run was interrupted and has been resumed from its last completed step. The conversation above is what happened before; continue the goal from there.';

/**
 * Serialises the conversation for a checkpoint, at most `maxChars` JSON characters: the oldest tool results
 * are shortened first (they are the bulk and the least needed to go on), then the oldest other messages, and
 * the system prompt and the goal are kept whole. Runs in the worker, so the host's main thread only stores a
 * string.
 */
export function takeCheckpoint(
  messages: readonly ModelMessage[],
  iterations: number,
  maxChars: number,
  steerSeq = 0,
): ConversationCheckpoint {
  const seq = steerSeq > 0 ? { steerSeq } : {};
  let json = JSON.stringify(messages);
  if (json.length <= maxChars) return { iterations, messages: json, ...seq };
  const copy = messages.map((message) => ({ ...message }));
  let size = json.length;
  const shrink = (index: number) => {
    const message = copy[index]!;
    const content = typeof message.content === 'string' ? message.content : '';
    if (content.length <= SHORTENED_CHARS + SHORTENED_MARK.length) return;
    const shorter = content.slice(0, SHORTENED_CHARS) + SHORTENED_MARK;
    size -= JSON.stringify(content).length - JSON.stringify(shorter).length;
    message.content = shorter;
  };
  // Oldest tool results first, then the oldest other messages; the system prompt and goal (0, 1) stay.
  for (let index = 2; index < copy.length && size > maxChars; index++)
    if (copy[index]!.role === 'tool') shrink(index);
  for (let index = 2; index < copy.length && size > maxChars; index++) shrink(index);
  json = JSON.stringify(copy);
  // Still too long (a huge goal or tool arguments): keep the start of the conversation and its last message.
  while (json.length > maxChars && copy.length > 3) {
    copy.splice(2, 1);
    json = JSON.stringify(copy);
  }
  return { iterations, messages: json, ...seq };
}

/** The messages a resumed run starts from: the checkpointed conversation and a note that it was resumed. */
export function resumeMessages(checkpoint: ConversationCheckpoint): ModelMessage[] {
  const parsed = JSON.parse(checkpoint.messages) as ModelMessage[];
  if (!Array.isArray(parsed) || parsed.length === 0) throw new Error('checkpoint holds no conversation');
  parsed.push({ role: 'user', content: RESUMED_NOTE });
  return parsed;
}
