import {
  closeSync,
  type Dirent,
  existsSync,
  constants as fsConstants,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  realpathSync,
  type Stats,
  statSync,
} from 'node:fs';
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

/** A file found by {@link Confinement.files}: where it was, as seen when it was listed. */
export interface WalkedFile {
  path: string;
  shown: string;
  size: number;
}

/** A regular file opened by {@link Confinement.open}: read only from `fd`, then close it. */
export interface OpenedFile {
  fd: number;
  size: number;
}

/** Folders no walk enters (and build-info files): large, generated, never what an agent means by "the files". */
const SKIPPED = new Set(['node_modules', '.git', 'dist', 'coverage']);

/**
 * `O_NOFOLLOW` refuses a link as the last component (a swap after `realpath`); `O_NONBLOCK` keeps a FIFO or
 * device swapped in after a check from blocking the thread in `open` (regular files ignore it).
 */
const READ_FLAGS = fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0) | (fsConstants.O_NONBLOCK ?? 0);
const FOLDER_FLAGS = READ_FLAGS | (fsConstants.O_DIRECTORY ?? 0);

/** Where the kernel names what a descriptor really refers to (Linux). Elsewhere we fall back to realpath. */
const PROC_FD = existsSync('/proc/self/fd') ? '/proc/self/fd' : undefined;

/**
 * Resolves paths the model gives against a root, refusing anything that leaves it: absolute paths, `..`
 * segments that climb out, and symlinks whose target is outside.
 *
 * Checking a path and then using it is a race: another process can swap a folder inside the root for a link
 * to an outside folder between the check and the `open`. So every read goes through {@link open} (and every
 * folder listing through a descriptor too): the descriptor is opened without following a final link and
 * without blocking, and what it really refers to (`/proc/self/fd/<fd>`, which the kernel fills in from the
 * opened file, not from the path) must be a regular file inside the root before a byte is read from it.
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
    let stats: Stats;
    try {
      real = realpathSync(target);
      stats = statSync(real);
    } catch {
      // Also a file deleted between the two calls (builds, editors, git).
      throw new ToolError(`no such file or folder: "${path}"`);
    }
    if (!this.#inside(real)) throw new ToolError(`path "${path}" is a link that leaves the root`);
    return { real, shown: this.show(real), stats };
  }

  /**
   * Opens a file for reading, safely against a concurrent swap (see the class comment). Throws a
   * {@link ToolError} when it vanished, is not a regular file, or turns out to be outside the root.
   */
  open(path: string, shown: string = this.show(path)): OpenedFile {
    let fd: number;
    try {
      fd = openSync(path, READ_FLAGS);
    } catch (error) {
      throw fsToolError(error, shown);
    }
    try {
      const stats = fstatSync(fd);
      if (!stats.isFile()) throw new ToolError(`"${shown}" is not a regular file`);
      if (!this.#opensInside(fd, path, stats)) {
        throw new ToolError(`"${shown}" leaves the root (it was replaced by a link while being opened)`);
      }
      return { fd, size: stats.size };
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  /**
   * The whole content of a file, at most `maxBytes` long: a larger file (or one that grew past the limit while
   * read) is refused with a {@link ToolError} that names the limit, so no read can exhaust the heap.
   */
  readBytes(path: string, maxBytes: number, shown: string = this.show(path)): Buffer {
    const file = this.open(path, shown);
    try {
      if (file.size > maxBytes) throw tooLarge(shown, file.size, maxBytes);
      const chunks: Buffer[] = [];
      let total = 0;
      const chunk = Buffer.alloc(Math.min(64 * 1024, maxBytes + 1));
      for (let read = readSync(file.fd, chunk); read > 0; read = readSync(file.fd, chunk)) {
        total += read;
        if (total > maxBytes) throw tooLarge(shown, total, maxBytes);
        chunks.push(Buffer.from(chunk.subarray(0, read)));
      }
      return Buffer.concat(chunks, total);
    } finally {
      closeSync(file.fd);
    }
  }

  /** Names in a folder, listed through a checked descriptor; a folder that vanished is a {@link ToolError}. */
  list(folder: ConfinedPath): Dirent[] {
    const opened = this.#openFolder(folder.real);
    if (!opened) throw new ToolError(`cannot list "${folder.shown}": it vanished or changed`);
    closeFolder(opened);
    return opened.entries;
  }

  /**
   * Files under a folder, depth first, skipping dependency and build folders, links that leave the root and
   * entries that vanish while walked. Every folder is listed through a checked descriptor; files must still
   * be read with {@link open} or {@link readBytes}, which check again.
   */
  *files(folder: ConfinedPath, onEntry: () => void): Generator<WalkedFile> {
    if (folder.stats.isFile()) {
      yield { path: folder.real, shown: folder.shown, size: folder.stats.size };
      return;
    }
    const stack = [folder.real];
    while (stack.length > 0) {
      const current = stack.pop()!;
      const opened = this.#openFolder(current);
      if (!opened) continue;
      try {
        opened.entries.sort((a, b) => (a.name < b.name ? 1 : -1));
        for (const entry of opened.entries) {
          onEntry();
          if (SKIPPED.has(entry.name) || entry.name.endsWith('.tsbuildinfo')) continue;
          const path = join(current, entry.name);
          const found = this.#entry(opened, entry, path);
          if (!found) continue;
          if (found.stats.isDirectory()) {
            // A link back into the tree would loop; only real folders are walked.
            if (!entry.isSymbolicLink()) stack.push(path);
          } else if (found.stats.isFile()) {
            yield { path: found.real, shown: this.show(path), size: found.stats.size };
          }
        }
      } finally {
        closeFolder(opened);
      }
    }
  }

  show(path: string): string {
    return relative(this.root, path).split(sep).join('/') || '.';
  }

  /** Stats of a walked entry (followed if it is a link that stays inside), or `undefined` to skip it. */
  #entry(folder: OpenFolder, entry: Dirent, path: string): { real: string; stats: Stats } | undefined {
    try {
      if (!entry.isSymbolicLink()) {
        // Through the folder's descriptor: a folder swapped since it was listed cannot redirect this.
        return { real: path, stats: lstatSync(join(folder.base, entry.name)) };
      }
      const real = realpathSync(path);
      return this.#inside(real) ? { real, stats: statSync(real) } : undefined;
    } catch {
      return undefined;
    }
  }

  #openFolder(path: string): OpenFolder | undefined {
    let fd: number | undefined;
    try {
      if (PROC_FD) {
        fd = openSync(path, FOLDER_FLAGS);
        const opened: OpenFolder = { fd, base: `${PROC_FD}/${fd}`, entries: [] };
        if (!this.#inside(readlinkSync(opened.base))) throw new Error('folder left the root');
        opened.entries = readdirSync(opened.base, { withFileTypes: true });
        return opened;
      }
      const entries = readdirSync(path, { withFileTypes: true });
      // Without /proc, check after listing: a swap before the check is caught, one after does not matter.
      if (!this.#inside(realpathSync(path))) return undefined;
      return { fd: undefined, base: path, entries };
    } catch {
      if (fd !== undefined) closeSync(fd);
      return undefined;
    }
  }

  /** True when the open descriptor `fd` (opened from `path`) is inside the root. */
  #opensInside(fd: number, path: string, stats: Stats): boolean {
    try {
      if (PROC_FD) return this.#inside(readlinkSync(`${PROC_FD}/${fd}`));
      // Without /proc: the path, resolved after the open, must still name the very file that was opened.
      const real = realpathSync(path);
      const now = statSync(real);
      return this.#inside(real) && now.ino === stats.ino && now.dev === stats.dev;
    } catch {
      return false;
    }
  }

  /** Only a `..` segment leaves: a file named `..foo` is inside. */
  #inside(path: string): boolean {
    const rel = relative(this.root, path);
    return rel === '' || (!isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${sep}`));
  }
}

interface OpenFolder {
  fd: number | undefined;
  /** A path that names the opened folder itself: `/proc/self/fd/<fd>`, or the folder's path without /proc. */
  base: string;
  entries: Dirent[];
}

function closeFolder(folder: OpenFolder): void {
  if (folder.fd === undefined) return;
  closeSync(folder.fd);
  folder.fd = undefined;
}

/** A file over a tool's byte limit: the model is told the size and the limit. */
export class FileTooLargeError extends ToolError {
  readonly shown: string;
  readonly size: number;
  readonly limit: number;
  constructor(shown: string, size: number, limit: number) {
    super(`"${shown}" has ${size} bytes or more; this tool reads at most ${limit} bytes of a file`);
    this.shown = shown;
    this.size = size;
    this.limit = limit;
  }
}

function tooLarge(shown: string, size: number, maxBytes: number): FileTooLargeError {
  return new FileTooLargeError(shown, size, maxBytes);
}

/** A failed `open` as a message for the model. */
function fsToolError(error: unknown, shown: string): ToolError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR')
    return new ToolError(`no such file: "${shown}" (it may have been deleted)`);
  if (code === 'ELOOP') return new ToolError(`"${shown}" became a link while being opened; not following it`);
  if (code === 'EACCES' || code === 'EPERM') return new ToolError(`no permission to read "${shown}"`);
  return new ToolError(`cannot open "${shown}": ${code ?? (error as Error).message}`);
}
