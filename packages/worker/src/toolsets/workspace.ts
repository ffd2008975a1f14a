/**
 * The `workspace` toolset: list, read and search files under a root folder the host gives.
 *
 * @example
 * new Supervisor({ model, toolsets: { workspace: { specifier: '@errand/worker/toolsets/workspace', options: { root: '/repo' } } } });
 */
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import { z } from 'zod';
import { ToolError } from '../errors.js';
import { defineTool, type Toolset } from '../toolset.js';
import { Confinement } from './confine.js';

/** Most characters `read_file` returns in one call. */
export const MAX_READ_CHARS = 100_000;
const MAX_LISTED = 500;
const MAX_GREP_FILE_BYTES = 2 * 1024 * 1024;

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
            for (const entry of readdirSync(folder.real, { withFileTypes: true }).sort((a, b) =>
              a.name.localeCompare(b.name),
            )) {
              if (lines.length >= MAX_LISTED) break;
              lines.push(entry.isDirectory() ? `${entry.name}/` : entry.name);
            }
          }
          return lines.join('\n') || '(empty)';
        },
      }),
      read_file: defineTool({
        description: `Read a text file, from a character offset, at most ${MAX_READ_CHARS} characters per call.`,
        input: z.object({
          path: z.string(),
          offset: z.number().int().nonnegative().default(0),
          length: z.number().int().positive().max(MAX_READ_CHARS).default(20_000),
        }),
        run: ({ path, offset, length }) => {
          const file = confinement.resolve(path);
          if (!file.stats.isFile()) throw new ToolError(`"${path}" is not a file`);
          const bytes = Buffer.alloc(Math.min(length * 4, Math.max(0, file.stats.size - offset)));
          const handle = openSync(file.real, 'r');
          try {
            readSync(handle, bytes, 0, bytes.length, offset);
          } finally {
            closeSync(handle);
          }
          const text = bytes.toString('utf8').slice(0, length);
          const end = offset + Buffer.byteLength(text);
          const more =
            end < file.stats.size
              ? `\n… (${file.stats.size - end} more bytes; read again with offset ${end})`
              : '';
          return `${text}${more}`;
        },
      }),
      grep: defineTool({
        description:
          'Search text files under a folder for a regular expression; returns file:line: text matches.',
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
          for (const file of confinement.files(confinement.resolve(path), ctx.checkpoint)) {
            if (file.size > MAX_GREP_FILE_BYTES) continue;
            const text = readText(file.path);
            if (text === undefined) continue;
            const lines = text.split('\n');
            for (let index = 0; index < lines.length; index++) {
              if ((index & 1023) === 0) ctx.checkpoint();
              if (!regex.test(lines[index]!)) continue;
              total += 1;
              if (matches.length < max_matches)
                matches.push(`${file.shown}:${index + 1}: ${lines[index]!.trim().slice(0, 200)}`);
            }
          }
          return `${total} matches${total > matches.length ? ` (showing ${matches.length})` : ''}\n${matches.join('\n')}`.trim();
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

/** UTF-8 text of a file, or `undefined` for binary files (a NUL byte in the first 8 KB). */
export function readText(path: string): string | undefined {
  const buffer = readFileBytes(path);
  if (buffer.subarray(0, 8192).includes(0)) return undefined;
  return buffer.toString('utf8');
}

function readFileBytes(path: string): Buffer {
  const handle = openSync(path, 'r');
  try {
    const chunks: Buffer[] = [];
    const chunk = Buffer.alloc(64 * 1024);
    for (let read = readSync(handle, chunk); read > 0; read = readSync(handle, chunk)) {
      chunks.push(Buffer.from(chunk.subarray(0, read)));
    }
    return Buffer.concat(chunks);
  } finally {
    closeSync(handle);
  }
}
