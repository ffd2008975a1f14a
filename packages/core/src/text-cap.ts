/** Longest error message kept on a snapshot; a worker or tool can throw anything. */
export const MAX_ERROR_CHARS = 10_000;

/**
 * Keeps the beginning of a text that is longer than `max` characters and says what was cut, so a reader (a
 * person, a parent LLM) knows the text is incomplete. Never splits a surrogate pair.
 *
 * @example capText('x'.repeat(30), 10, 'limits.maxResultChars') // 'xxxxxxxxxx… [cut: 10 of 30 characters kept (limits.maxResultChars)]'
 */
export function capText(text: string, max: number, limit: string): string {
  if (text.length <= max) return text;
  let end = max;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}… [cut: ${end} of ${text.length} characters kept (${limit})]`;
}
