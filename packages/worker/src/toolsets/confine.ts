import { type Dirent, lstatSync, readdirSync, realpathSync, type Stats, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ToolError } from '../errors.js';

/** Options every file toolset takes from the host. */
export interface RootOptions {
  /** The folder the agent may read. Everything outside it is refused. */
  root: string;
}

/** A path the model gave, checked against the root. */
export interface ConfinedPath {
  /** Absolute, symlinks resolved. */
  real: string;
  /** Relative to the root, with `/`, for showing to the model. */
  shown: string;
  stats: Stats;
}

/** Folders no walk enters (and build-info files): large, generated, never what an agent means by "the files". */
const SKIPPED = new Set(['node_modules', '.git', 'dist', 'coverage']);

/**
 * Resolves paths the model gives against a root, refusing anything that leaves it: absolute paths, `..`
 * segments that climb out, and symlinks whose target is outside. Checked on the real path, so a symlink
 * inside the root that points out is caught too.
 */
export class Confinement {
  readonly root: string;

  constructor(options: unknown) {
    const root = (options as Partial<RootOptions> | undefined)?.root;
    if (typeof root !== 'string' || !isAbsolute(root)) {
      throw new Error('this toolset needs options.root: an absolute folder path given by the host');
    }
    this.root = realpathSync(root);
  }

  resolve(path: unknown = '.'): ConfinedPath {
    if (typeof path !== 'string') throw new ToolError('path must be a string');
    if (isAbsolute(path))
      throw new ToolError(`absolute paths are not allowed ("${path}"); give a path relative to the root`);
    const target = resolve(this.root, path);
    if (!this.#inside(target)) throw new ToolError(`path "${path}" leaves the root`);
    let real: string;
    try {
      real = realpathSync(target);
    } catch {
      throw new ToolError(`no such file or folder: "${path}"`);
    }
    if (!this.#inside(real)) throw new ToolError(`path "${path}" is a link that leaves the root`);
    return { real, shown: this.show(real), stats: statSync(real) };
  }

  /** Files under a folder, depth first, skipping dependency and build folders and links that leave the root. */
  *files(
    folder: ConfinedPath,
    onEntry: () => void,
  ): Generator<{ path: string; shown: string; size: number }> {
    if (folder.stats.isFile()) {
      yield { path: folder.real, shown: folder.shown, size: folder.stats.size };
      return;
    }
    const stack = [folder.real];
    while (stack.length > 0) {
      const current = stack.pop()!;
      let entries: Dirent[];
      try {
        entries = readdirSync(current, { withFileTypes: true });
      } catch {
        continue;
      }
      entries.sort((a, b) => (a.name < b.name ? 1 : -1));
      for (const entry of entries) {
        onEntry();
        if (SKIPPED.has(entry.name) || entry.name.endsWith('.tsbuildinfo')) continue;
        const path = join(current, entry.name);
        let real = path;
        if (entry.isSymbolicLink()) {
          try {
            real = realpathSync(path);
          } catch {
            continue;
          }
          if (!this.#inside(real)) continue;
        }
        const stats = entry.isSymbolicLink() ? statSync(real) : lstatSync(path);
        if (stats.isDirectory()) {
          // A link back into the tree would loop; only real folders are walked.
          if (!entry.isSymbolicLink()) stack.push(path);
        } else if (stats.isFile()) {
          yield { path: real, shown: this.show(path), size: stats.size };
        }
      }
    }
  }

  show(path: string): string {
    return relative(this.root, path).split(sep).join('/') || '.';
  }

  #inside(path: string): boolean {
    const rel = relative(this.root, path);
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
  }
}
