/** Environment variable names whose values are treated as secrets. */
export const SECRET_NAME = /(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH)/i;
/** Shorter values are too likely to occur by chance to be worth hiding. */
export const MIN_SECRET_LENGTH = 8;
/** What a secret becomes. */
export const REDACTED = '[redacted]';
/**
 * On text that is still growing (an open output line), a tail this long that begins a secret is hidden too:
 * the rest of the secret may arrive with the next delta.
 */
const MIN_PARTIAL = 4;

/**
 * Secret values from an environment: every variable whose name looks secret (`SECRET_NAME`) or is in
 * `names` (such as a model's `apiKeyEnv`, whatever it is called), at least `MIN_SECRET_LENGTH` long.
 */
export function secretValues(env: NodeJS.ProcessEnv, names: Iterable<string> = []): string[] {
  const named = new Set(names);
  const values: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH) continue;
    if (named.has(name) || SECRET_NAME.test(name)) values.push(value);
  }
  return values;
}

/** Options for {@link Redactor.redact}. */
export interface RedactOptions {
  /** Keep at most this many characters of the input (a line cut). Secrets are replaced before the cut. */
  limit?: number;
  /** The text may continue (an open line): also hide a tail that begins a secret. */
  open?: boolean;
}

/**
 * Replaces known secret values with `[redacted]`. One regular expression over all of them, longest first, so
 * a pass is O(text); with no secrets it returns its input.
 */
export class Redactor {
  /** A redactor that knows no secrets. */
  static readonly none = new Redactor([]);
  /** Longest secret's length (0 with none): text cut at `n` needs `n + longest - 1` characters to be redacted safely. */
  readonly longest: number;
  readonly #secrets: readonly string[];
  readonly #pattern: RegExp | undefined;

  constructor(secrets: Iterable<string>) {
    this.#secrets = [...new Set(secrets)]
      .filter((secret) => secret.length > 0)
      .sort((a, b) => b.length - a.length);
    this.longest = this.#secrets[0]?.length ?? 0;
    this.#pattern =
      this.#secrets.length > 0
        ? new RegExp(
            this.#secrets.map((secret) => secret.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'),
            'g',
          )
        : undefined;
  }

  /** Whether any secret is known. */
  get active(): boolean {
    return this.#pattern !== undefined;
  }

  redact(text: string, options: RedactOptions = {}): string {
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    const pattern = this.#pattern;
    if (!pattern) return text.length > limit ? text.slice(0, limit) : text;
    let clean = '';
    let from = 0;
    pattern.lastIndex = 0;
    // Only matches that start before the cut matter; one that runs past it is hidden whole.
    for (let match = pattern.exec(text); match && match.index < limit; match = pattern.exec(text)) {
      clean += text.slice(from, match.index) + REDACTED;
      from = match.index + match[0].length;
    }
    const kept = Math.min(text.length, limit);
    const partial = options.open ? this.#partialStart(text, from) : text.length;
    if (from === 0 && partial >= kept) return kept < text.length ? text.slice(0, kept) : text;
    if (from < Math.min(kept, partial)) clean += text.slice(from, Math.min(kept, partial));
    if (partial < kept) clean += REDACTED;
    return clean.length > limit ? clean.slice(0, limit) : clean;
  }

  /** Where a tail of `text` (from `from` on, at least MIN_PARTIAL long) that begins a secret starts, or its length. */
  #partialStart(text: string, from: number): number {
    const first = Math.max(from, text.length - this.longest + 1);
    for (let start = first; start <= text.length - MIN_PARTIAL; start++) {
      const tail = text.slice(start);
      if (this.#secrets.some((secret) => secret.length > tail.length && secret.startsWith(tail)))
        return start;
    }
    return text.length;
  }
}
