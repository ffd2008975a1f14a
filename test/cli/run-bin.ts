import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The built `errand` bin: CLI tests run it as a subprocess. */
export const bin = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url));

const exec = promisify(execFile);

/** How a run of the bin ended. */
export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** This process's environment without the ERRAND_* variables that would change what the bin does. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('ERRAND_')) env[name] = value;
  return { ...env, ...extra };
}

/** Runs the bin with exactly these arguments; never rejects: a failing exit is a result. */
export async function runBin(
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number },
): Promise<Ran> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [bin, ...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      timeout: options.timeout ?? 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** A folder that is not this repository: a few notes and a readme (no packages/, no package.json). */
export async function notesFolder(prefix: string, readme = '# Notes\n'): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), prefix));
  await mkdir(join(folder, 'notes'));
  await writeFile(join(folder, 'notes', 'shopping.md'), 'TODO: buy milk\nbread\n');
  await writeFile(join(folder, 'notes', 'ideas.txt'), 'FIXME: a better name\nsomething else\n');
  await writeFile(join(folder, 'README.md'), readme);
  return folder;
}
