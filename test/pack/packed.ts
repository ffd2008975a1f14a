/**
 * Shared by the tests that use the packages as a user gets them: pack every package with pnpm (as `pnpm publish`
 * would, through scripts/pack.mjs), then `npm install` the tarballs into empty projects outside the workspace.
 * Dependencies come from the npm cache (`--prefer-offline`); a cold cache needs the npm registry once. Build
 * first (`npm run build`): the tarballs ship dist/ as it is.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const exec = promisify(execFile);
export const repo = fileURLToPath(new URL('../..', import.meta.url));
/** The workspace's TypeScript compiler, run with `node` (no npx, no network). */
export const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
export const PACKAGES = ['cli', 'core', 'redis', 'serve', 'tools', 'worker'] as const;
export type PackageName = (typeof PACKAGES)[number];

/** Packs every package into `destination`; returns the tarball path of each, by short name (`core`, …). */
export async function packTarballs(destination: string): Promise<Map<string, string>> {
  const packed = await exec(process.execPath, [join(repo, 'scripts/pack.mjs'), destination], {
    timeout: 60_000,
  });
  const tarballs = new Map<string, string>();
  for (const file of packed.stdout.trim().split('\n')) {
    tarballs.set(/^errand-(\w+)-/.exec(basename(file))![1]!, file);
  }
  return tarballs;
}

/** Creates `folder` as an empty ESM project and installs `packages` (tarball paths or registry specs) into it. */
export async function installProject(folder: string, packages: string[]): Promise<void> {
  await mkdir(folder);
  await writeFile(
    join(folder, 'package.json'),
    JSON.stringify({ name: 'host', private: true, type: 'module' }),
  );
  // `--omit=optional`: the CLI's optional better-sqlite3 compiles from source for a minute; the durable store
  // has its own tests, and the CLI falls back to memory without it.
  await exec(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', '--omit=optional', ...packages],
    { cwd: folder, timeout: 180_000 },
  );
}

/** Writes `code` to `folder/file` and runs it with node from `folder`. */
export async function runNode(
  folder: string,
  file: string,
  code: string,
  args: string[] = [],
  env: NodeJS.ProcessEnv = process.env,
) {
  await writeFile(join(folder, file), code);
  return exec(process.execPath, [file, ...args], { cwd: folder, timeout: 30_000, env });
}

/** Runs the workspace's tsc on `config` in `folder`; resolves to its diagnostics ('' when it passed). */
export function typecheck(folder: string, config: string): Promise<string> {
  return exec(process.execPath, [tsc, '-p', config], { cwd: folder, timeout: 90_000 }).then(
    () => '',
    (failure: { stdout: string; stderr: string }) => failure.stdout + failure.stderr,
  );
}
