import type { z } from 'zod';
import { describeValue, InvalidInputError } from './errors.js';

type Issue = z.core.$ZodIssue;
type AnySchema = z.core.$ZodType;

/**
 * Parses `input` with `schema`, or throws an `InvalidInputError` in our words: the field's dotted path, what
 * was expected, and the value given (``pool.maxThreads must be an integer from 1 to 1024, got 0.5 (number)``).
 * An unknown key names the known key it most resembles (``unknown option "stor"; did you mean "store"?``), so
 * a typo never silently falls back to a default.
 */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  input: unknown,
  noun: 'option' | 'field' = 'field',
): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw toInvalidInput(schema, input, parsed.error.issues[0]!, noun);
}

function toInvalidInput(schema: AnySchema, input: unknown, issue: Issue, noun: string): InvalidInputError {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    const field = [...path, key].join('.');
    const known = Object.keys(objectShape(leafOf(schema, path, input)) ?? {});
    const close = closest(key, known);
    const hint = close
      ? `; did you mean "${[...path, close].join('.')}"?`
      : known.length > 0
        ? ` (known: ${known.join(', ')})`
        : '';
    return new InvalidInputError(field, key, `is not a known ${noun}`, `unknown ${noun} "${field}"${hint}`);
  }
  const value = valueAt(input, path);
  const field = path.join('.') || 'input';
  const expected =
    issue.code === 'invalid_union'
      ? (discriminatorValues(leafOf(schema, path.slice(0, -1), input), path.at(-1)) ??
        expectation(undefined, issue))
      : expectation(leafOf(schema, path, input), issue);
  // A missing field says so, rather than "got undefined (undefined)".
  const reason =
    value === undefined && issue.code === 'invalid_type'
      ? `is required: ${expected}`
      : `must be ${expected}, got ${describeValue(value)}`;
  return new InvalidInputError(field, value, reason);
}

/** What a schema accepts, in words. */
function expectation(leaf: AnySchema | undefined, issue: Issue): string {
  const def = (leaf as { def?: { type?: string } } | undefined)?.def;
  switch (def?.type) {
    case 'number': {
      const number = leaf as unknown as { isInt: boolean; minValue: number | null; maxValue: number | null };
      const noun = number.isInt ? 'an integer' : 'a number';
      const min = bound(number.minValue);
      const max = bound(number.maxValue);
      const exclusive = issue.code === 'too_small' && !issue.inclusive;
      if (min !== undefined && max !== undefined && !exclusive) return `${noun} from ${min} to ${max}`;
      if (min !== undefined)
        return `${noun} ${exclusive ? '>' : '≥'} ${min}${max === undefined ? '' : ` and ≤ ${max}`}`;
      if (max !== undefined) return `${noun} ≤ ${max}`;
      return noun;
    }
    case 'string':
      if (issue.code === 'too_small') return `a string of at least ${issue.minimum} characters`;
      if (issue.code === 'too_big') return `a string of at most ${issue.maximum} characters`;
      // A schema's own words (`.regex(re, 'the name of an export')`, `.refine(…)`) say more than the format's name.
      if (issue.code === 'custom' || (issue.code === 'invalid_format' && !/^Invalid/.test(issue.message)))
        return issue.message;
      if (issue.code === 'invalid_format') return `a valid ${issue.format}`;
      return 'a string';
    case 'boolean':
      return 'true or false';
    case 'array':
      return issue.code === 'too_small' ? `a list of at least ${issue.minimum} items` : 'a list';
    case 'object':
    case 'record':
      return 'an object';
    case 'enum':
    case 'literal':
      return issue.code === 'invalid_value'
        ? `one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`
        : issue.message;
    default:
      if (issue.code === 'invalid_union') return 'one of the documented shapes';
      // A union or a lazy schema checks the type first: name the type in words, not zod's "expected object".
      if (issue.code === 'invalid_type') return typeInWords(issue.expected);
      return issue.message.replace(/^Invalid input: /, '');
  }
}

function typeInWords(type: string): string {
  if (type === 'array') return 'a list';
  if (type === 'object') return 'an object';
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function bound(value: number | null): number | undefined {
  return value === null || !Number.isFinite(value) || Math.abs(value) >= Number.MAX_SAFE_INTEGER
    ? undefined
    : value;
}

/**
 * The schema at `path`, through optional, nullable, default, object, record and array wrappers, and through a
 * discriminated union (the option the input's discriminator picks).
 */
function leafOf(schema: AnySchema, path: readonly string[], input: unknown): AnySchema | undefined {
  let current = pick(unwrap(schema), input);
  let value = input;
  for (const key of path) {
    const def = (current as { def?: Record<string, unknown> } | undefined)?.def;
    if (!def) return undefined;
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
    if (def.type === 'object') current = unwrap((def.shape as Record<string, AnySchema>)[key]);
    else if (def.type === 'record') current = unwrap(def.valueType as AnySchema);
    else if (def.type === 'array') current = unwrap(def.element as AnySchema);
    else return undefined;
    current = pick(current, value);
  }
  return current;
}

/** `one of "a", "b"` when `key` is the discriminator of the union `schema`. */
function discriminatorValues(schema: AnySchema | undefined, key: string | undefined): string | undefined {
  const def = (
    schema as { def?: { type?: string; discriminator?: string; options?: AnySchema[] } } | undefined
  )?.def;
  if (def?.type !== 'union' || !def.discriminator || def.discriminator !== key) return undefined;
  const values = (def.options ?? []).flatMap(
    (option) =>
      (objectShape(option)?.[key] as { def?: { values?: unknown[] } } | undefined)?.def?.values ?? [],
  );
  return `one of ${values.map((value) => JSON.stringify(value)).join(', ')}`;
}

/** For a discriminated union, the option whose discriminator value the input carries. */
function pick(schema: AnySchema | undefined, value: unknown): AnySchema | undefined {
  const def = (
    schema as { def?: { type?: string; discriminator?: string; options?: AnySchema[] } } | undefined
  )?.def;
  if (def?.type !== 'union' || !def.discriminator || value === null || typeof value !== 'object')
    return schema;
  const wanted = (value as Record<string, unknown>)[def.discriminator];
  for (const option of def.options ?? []) {
    const literal = objectShape(option)?.[def.discriminator] as { def?: { values?: unknown[] } } | undefined;
    if (literal?.def?.values?.includes(wanted)) return option;
  }
  return schema;
}

function unwrap(schema: AnySchema | undefined): AnySchema | undefined {
  let current = schema;
  for (;;) {
    const def = (current as { def?: { type?: string; innerType?: AnySchema } } | undefined)?.def;
    if (def && (def.type === 'optional' || def.type === 'nullable' || def.type === 'default'))
      current = def.innerType;
    else return current;
  }
}

function objectShape(schema: AnySchema | undefined): Record<string, unknown> | undefined {
  const def = (schema as { def?: { type?: string; shape?: Record<string, unknown> } } | undefined)?.def;
  return def?.type === 'object' ? def.shape : undefined;
}

function valueAt(input: unknown, path: readonly string[]): unknown {
  let current = input;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** The known key a typo most likely meant: within two edits, or differing only in case. */
export function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.min(3, Math.ceil(key.length / 2));
  for (const candidate of known) {
    const distance = candidate.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Edits (insert, delete, replace, swap two neighbours) between two short strings. */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return 4;
  const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, index) => index)];
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(rows[i - 1]![j]! + 1, row[j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        row[j] = Math.min(row[j]!, rows[i - 2]![j - 2]! + 1);
    }
    rows.push(row);
  }
  return rows[a.length]![b.length]!;
}
