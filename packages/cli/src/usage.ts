import { statSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * A mistake in how the command was called (a bad flag value, a missing folder): printed as one line, exit code 2.
 * Commander's own usage errors (unknown command or option, missing argument) end the same way.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * A flag parser for a whole number from `min` up, with our own message.
 *
 * @example
 * integerFlag('--max-iterations', 1)('0.5') // throws UsageError: --max-iterations must be an integer ≥ 1, got 0.5
 */
export function integerFlag(flag: string, min: number): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (value.trim() === '' || !Number.isInteger(number) || number < min) {
      throw new UsageError(`${flag} must be an integer ≥ ${min}, got ${shown(value)}`);
    }
    return number;
  };
}

/** The `--port` parser: an integer from 0 to 65535. */
export function portFlag(value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isInteger(number) || number < 0 || number > 65_535) {
    throw new UsageError(`--port must be an integer from 0 to 65535, got ${shown(value)}`);
  }
  return number;
}

/** A flag parser for a number of seconds above zero (fractions allowed). */
export function secondsFlag(flag: string): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (value.trim() === '' || !Number.isFinite(number) || number <= 0) {
      throw new UsageError(`${flag} must be a number of seconds > 0, got ${shown(value)}`);
    }
    return number;
  };
}

/** Checks that a folder given with `--root` (or ERRAND_ROOT) exists and is a folder. */
export function checkRootExists(given: string, source: string): void {
  const absolute = resolve(given);
  let folder: boolean;
  try {
    folder = statSync(absolute).isDirectory();
  } catch {
    throw new UsageError(`${source}: root folder ${JSON.stringify(absolute)} does not exist`);
  }
  if (!folder) throw new UsageError(`${source}: root ${JSON.stringify(absolute)} is not a folder`);
}

function shown(value: string): string {
  return /^[\w.+-]+$/.test(value) ? value : JSON.stringify(value);
}
