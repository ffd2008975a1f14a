/**
 * The `compute` toolset: CPU-heavy but useful work on files under a root folder — hashing, text statistics,
 * JSON querying. Every loop calls `ctx.checkpoint()`, so the work can be steered and cancelled mid-way
 * without yielding.
 *
 * @example
 * toolsets: { compute: { specifier: '@errand/worker/toolsets/compute', options: { root: '/repo' } } }
 */
import { createHash, getHashes } from 'node:crypto';
import { closeSync, readSync } from 'node:fs';
import { z } from 'zod';
import { isToolError, ToolError } from '../errors.js';
import { defineTool, type ToolContext, type Toolset } from '../toolset.js';
import { Confinement, FileTooLargeError, type WalkedFile } from './confine.js';
import { readText, TOO_LARGE } from './workspace.js';

const CHUNK_BYTES = 64 * 1024;
const MAX_FILES = 2_000;
/** `json_query` refuses larger files. */
export const MAX_JSON_BYTES = 5 * 1024 * 1024;
/** `text_stats` skips larger files (and says how many). */
export const MAX_TEXT_FILE_BYTES = 8 * 1024 * 1024;
/** `hash_files` skips larger files (and lists them as skipped). */
export const MAX_HASH_FILE_BYTES = 256 * 1024 * 1024;

export default function createComputeToolset(options: unknown): Toolset {
  const confinement = new Confinement(options);
  return {
    name: 'compute',
    tools: {
      hash_files: defineTool({
        description: `Hash every file under a folder (or one file). Returns one "hash  path" line per file; files over ${MAX_HASH_FILE_BYTES} bytes get a "skipped" line instead.`,
        input: z.object({
          path: z.string().default('.'),
          algorithm: z.enum(['sha256', 'sha1', 'md5', 'sha512']).default('sha256'),
          rounds: z
            .number()
            .int()
            .positive()
            .max(1_000)
            .default(1)
            .describe('Hash repeatedly (a heavier job).'),
        }),
        run: ({ path, algorithm, rounds }, ctx) => {
          if (!getHashes().includes(algorithm))
            throw new ToolError(`algorithm ${algorithm} is not available`);
          const lines: string[] = [];
          let bytes = 0;
          let hashed = 0;
          let skipped = 0;
          for (const file of confinement.files(confinement.resolve(path), ctx.checkpoint)) {
            if (lines.length >= MAX_FILES) break;
            let digest: string;
            try {
              digest = hashFile(confinement, file, algorithm, ctx);
            } catch (error) {
              if (error instanceof FileTooLargeError) {
                skipped += 1;
                lines.push(
                  `skipped (${error.size} bytes or more; the limit is ${error.limit})  ${file.shown}`,
                );
              }
              // Vanished or changed since it was listed: skipped, like a walk skips it.
              if (isToolError(error)) continue;
              throw error;
            }
            for (let round = 1; round < rounds; round++) {
              ctx.checkpoint();
              digest = createHash(algorithm).update(digest).digest('hex');
            }
            bytes += file.size;
            hashed += 1;
            lines.push(`${digest}  ${file.shown}`);
            if (hashed % 50 === 0) ctx.emit(`hashed ${hashed} files (${bytes} bytes)`);
          }
          const note = skipped > 0 ? `, ${skipped} skipped (over ${MAX_HASH_FILE_BYTES} bytes)` : '';
          return `${hashed} files, ${bytes} bytes${note}\n${lines.join('\n')}`;
        },
      }),
      text_stats: defineTool({
        description: `Lines, words, characters and the most frequent words of the text files under a path. Files over ${MAX_TEXT_FILE_BYTES} bytes are skipped and counted in "skipped_large".`,
        input: z.object({
          path: z.string().default('.'),
          top: z.number().int().positive().max(50).default(10),
        }),
        run: ({ path, top }, ctx) => {
          const counts = new Map<string, number>();
          let files = 0;
          let lines = 0;
          let words = 0;
          let characters = 0;
          let skippedLarge = 0;
          for (const file of confinement.files(confinement.resolve(path), ctx.checkpoint)) {
            if (files >= MAX_FILES) break;
            const text = readText(confinement, file, MAX_TEXT_FILE_BYTES);
            if (text === TOO_LARGE) skippedLarge += 1;
            if (typeof text !== 'string') continue;
            files += 1;
            characters += text.length;
            const fileLines = text.split('\n');
            lines += fileLines.length;
            for (let index = 0; index < fileLines.length; index++) {
              if ((index & 255) === 0) ctx.checkpoint();
              for (const word of fileLines[index]!.toLowerCase().match(/[a-z_][a-z0-9_]{2,}/g) ?? []) {
                words += 1;
                counts.set(word, (counts.get(word) ?? 0) + 1);
              }
            }
          }
          const frequent = [...counts.entries()]
            .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
            .slice(0, top);
          const skipped =
            skippedLarge > 0
              ? { skipped_large: skippedLarge, note: `files over ${MAX_TEXT_FILE_BYTES} bytes are not read` }
              : {};
          return JSON.stringify({
            files,
            lines,
            words,
            characters,
            top_words: Object.fromEntries(frequent),
            ...skipped,
          });
        },
      }),
      json_query: defineTool({
        description: `Read a JSON file (at most ${MAX_JSON_BYTES} bytes) and return the value at a path like "scripts.test" or "items[0].name" ("" = all).`,
        input: z.object({ path: z.string(), query: z.string().max(500).default('') }),
        run: ({ path, query }, ctx) => {
          const file = confinement.resolve(path);
          if (!file.stats.isFile()) throw new ToolError(`"${path}" is not a file`);
          const bytes = confinement.readBytes(file.real, MAX_JSON_BYTES, file.shown);
          let value: unknown;
          try {
            value = JSON.parse(bytes.toString('utf8'));
          } catch (error) {
            throw new ToolError(`"${path}" is not JSON: ${(error as Error).message}`);
          }
          for (const key of parseQuery(query)) {
            ctx.checkpoint();
            if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) {
              throw new ToolError(`no "${key}" at that point of "${query}"`);
            }
            value = (value as Record<string, unknown>)[key];
          }
          return JSON.stringify(value, null, 2);
        },
      }),
    },
  };
}

/** Hashes a walked file through a checked descriptor, refusing it past {@link MAX_HASH_FILE_BYTES}. */
function hashFile(confinement: Confinement, file: WalkedFile, algorithm: string, ctx: ToolContext): string {
  if (file.size > MAX_HASH_FILE_BYTES)
    throw new FileTooLargeError(file.shown, file.size, MAX_HASH_FILE_BYTES);
  const hash = createHash(algorithm);
  const chunk = Buffer.alloc(CHUNK_BYTES);
  const { fd, size } = confinement.open(file.path, file.shown);
  try {
    if (size > MAX_HASH_FILE_BYTES) throw new FileTooLargeError(file.shown, size, MAX_HASH_FILE_BYTES);
    let total = 0;
    for (let read = readSync(fd, chunk); read > 0; read = readSync(fd, chunk)) {
      total += read;
      // It grew since it was opened.
      if (total > MAX_HASH_FILE_BYTES) throw new FileTooLargeError(file.shown, total, MAX_HASH_FILE_BYTES);
      hash.update(chunk.subarray(0, read));
      ctx.checkpoint();
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/** `a.b[0].c` → `['a', 'b', '0', 'c']`. */
export function parseQuery(query: string): string[] {
  return query
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .filter((key) => key.length > 0);
}
