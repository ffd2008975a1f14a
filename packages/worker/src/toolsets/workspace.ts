/**
 * The `workspace` toolset: list, read and search files under a root folder the host gives.
 *
 * @example
 * new Supervisor({ model, toolsets: { workspace: { specifier: '@errand/worker/toolsets/workspace', options: { root: '/repo' } } } });
 */
import { closeSync, readSync } from 'node:fs';
import { z } from 'zod';
import { isToolError, ToolError } from '../errors.js';
import { defineTool, type Toolset } from '../toolset.js';
import { Confinement, FileTooLargeError, type WalkedFile } from './confine.js';

/** Most bytes `read_file` returns in one call. */
export const MAX_READ_BYTES = 100_000;
const MAX_LISTED = 500;
/** Larger files are skipped by `grep` (and said so in its reply). */
export const MAX_GREP_FILE_BYTES = 2 * 1024 * 1024;

export default function createWorkspaceToolset(options: unknown): Toolset {
  const confinement = new Confinement(options);
  return {
    name: 'workspace',
    tools: {
      list_files: defineTool({
        description: 'List files under a folder (relative to the workspace root), with sizes in bytes.',
        input: z.object({
          path: z.string().default('.'),
          recursive: z.boolean().default(false),
        }),
        run: ({ path, recursive }, ctx) => {
          const folder = confinement.resolve(path);
          const lines: string[] = [];
          if (recursive || folder.stats.isFile()) {
            for (const file of confinement.files(folder, ctx.checkpoint)) {
              if (lines.length >= MAX_LISTED)
                return `${lines.join('\n')}\n… (stopped at ${MAX_LISTED} entries)`;
              lines.push(`${file.shown}\t${file.size}`);
            }
          } else {
            for (const entry of confinement.list(folder).sort((a, b) => a.name.localeCompare(b.name))) {
              if (lines.length >= MAX_LISTED) break;
              lines.push(entry.isDirectory() ? `${entry.name}/` : entry.name);
            }
          }
          return lines.join('\n') || '(empty)';
        },
      }),
      read_file: defineTool({
        description: `Read a UTF-8 text file, a page of at most ${MAX_READ_BYTES} bytes at a time from a byte offset. A page never splits a character, and its last line says the offset to read the next page from.`,
        input: z.object({
          path: z.string(),
          offset: z
            .number()
            .int()
            .nonnegative()
            .default(0)
            .describe(
              'Where to start, in bytes from the start of the file; use the offset the previous page gave.',
            ),
          length: z
            .number()
            .int()
            .positive()
            .max(MAX_READ_BYTES)
            .default(20_000)
            .describe('Most bytes to return (a page ends early rather than split a character).'),
        }),
        run: ({ path, offset, length }) => {
          const file = confinement.resolve(path);
          if (!file.stats.isFile()) throw new ToolError(`"${path}" is not a file`);
          const { fd, size } = confinement.open(file.real, file.shown);
          try {
            if (offset > size)
              throw new ToolError(`offset ${offset} is past the end of "${path}" (${size} bytes)`);
            return readPage(fd, size, offset, length);
          } finally {
            closeSync(fd);
          }
        },
      }),
      grep: defineTool({
        description: `Search text files under a folder for a regular expression; returns file:line: text matches. Files over ${MAX_GREP_FILE_BYTES} bytes are skipped (the reply says how many).`,
        input: z.object({
          pattern: z.string().min(1).max(500),
          path: z.string().default('.'),
          max_matches: z.number().int().positive().max(1_000).default(100),
        }),
        run: ({ pattern, path, max_matches }, ctx) => {
          let regex: RegExp;
          try {
            regex = new RegExp(pattern);
          } catch (error) {
            throw new ToolError(`bad pattern: ${(error as Error).message}`);
          }
          const matches: string[] = [];
          let total = 0;
          let tooLarge = 0;
          for (const file of confinement.files(confinement.resolve(path), ctx.checkpoint)) {
            const text = readText(confinement, file, MAX_GREP_FILE_BYTES);
            if (text === TOO_LARGE) tooLarge += 1;
            if (typeof text !== 'string') continue;
            const lines = text.split('\n');
            for (let index = 0; index < lines.length; index++) {
              if ((index & 1023) === 0) ctx.checkpoint();
              if (!regex.test(lines[index]!)) continue;
              total += 1;
              if (matches.length < max_matches)
                matches.push(`${file.shown}:${index + 1}: ${lines[index]!.trim().slice(0, 200)}`);
            }
          }
          const skipped =
            tooLarge > 0 ? ` (skipped ${tooLarge} files over ${MAX_GREP_FILE_BYTES} bytes)` : '';
          return `${total} matches${total > matches.length ? ` (showing ${matches.length})` : ''}${skipped}\n${matches.join('\n')}`.trim();
        },
      }),
      largest_files: defineTool({
        description: 'The largest files under a folder, biggest first.',
        input: z.object({
          path: z.string().default('.'),
          count: z.number().int().positive().max(100).default(10),
        }),
        run: ({ path, count }, ctx) => {
          const files = [...confinement.files(confinement.resolve(path), ctx.checkpoint)];
          files.sort((a, b) => b.size - a.size);
          return files
            .slice(0, count)
            .map((file) => `${file.size}\t${file.shown}`)
            .join('\n');
        },
      }),
    },
  };
}

/** What {@link readText} answers for a file over its byte limit. */
export const TOO_LARGE = Symbol('too large');

/**
 * UTF-8 text of a walked file; `undefined` for a binary file (a NUL byte in the first 8 KB) or one that
 * vanished, changed or cannot be read since it was listed (walks skip those); {@link TOO_LARGE} over
 * `maxBytes`. Only stop requests and real faults throw.
 */
export function readText(
  confinement: Confinement,
  file: WalkedFile,
  maxBytes: number,
): string | undefined | typeof TOO_LARGE {
  if (file.size > maxBytes) return TOO_LARGE;
  let buffer: Buffer;
  try {
    buffer = confinement.readBytes(file.path, maxBytes, file.shown);
  } catch (error) {
    if (!isToolError(error)) throw error;
    return error instanceof FileTooLargeError ? TOO_LARGE : undefined;
  }
  if (buffer.subarray(0, 8192).includes(0)) return undefined;
  return buffer.toString('utf8');
}

/**
 * One page of `read_file`: up to `length` bytes from `offset`, moved to whole characters. A start inside a
 * character moves forward to the next one; an end inside one moves back, unless the page would then be empty
 * (a `length` smaller than one character), when it moves forward so the page holds exactly one character.
 */
function readPage(fd: number, size: number, offset: number, length: number): string {
  // Three more bytes than asked: enough to finish the last character when it has to move forward.
  const bytes = Buffer.alloc(Math.min(length + 3, size - offset));
  let got = 0;
  while (got < bytes.length) {
    const read = readSync(fd, bytes, got, bytes.length - got, offset + got);
    if (read === 0) break;
    got += read;
  }
  let start = 0;
  while (start < Math.min(got, 3) && isContinuation(bytes[start]!)) start++;
  let end = Math.min(got, length);
  if (end < got) {
    while (end > start && isContinuation(bytes[end]!)) end--;
    if (end === start) {
      end = Math.min(got, start + 1);
      while (end < got && isContinuation(bytes[end]!)) end++;
    }
  }
  const text = bytes.toString('utf8', start, end);
  const next = offset + end;
  const moved = start > 0 ? ` (started ${start} bytes after offset ${offset}, at a whole character)` : '';
  if (next >= size) return moved ? `${text}\n…${moved}` : text;
  return `${text}\n… (${size - next} more bytes; read again with offset ${next})${moved}`;
}

/** A UTF-8 continuation byte (10xxxxxx): never the first byte of a character. */
function isContinuation(byte: number): boolean {
  return (byte & 0xc0) === 0x80;
}
