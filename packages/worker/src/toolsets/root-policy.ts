import { realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, parse, resolve } from 'node:path';

/** What {@link checkToolsetRoot} decided about a folder offered as a file toolset's root. */
export interface RootCheck {
  /** The folder, absolute with links resolved: what the toolsets will really be confined to. */
  root: string;
  /** Set when the folder is a filesystem root or the user's home folder itself, and why that is refused. */
  broad?: string;
}

/**
 * Checks a folder before file toolsets are rooted at it: it must exist and be a folder, and a filesystem root
 * (`/`) or the home folder itself is flagged as broad. Servers that MCP hosts start (Claude Desktop starts
 * them in `/`, others in `$HOME`) must never default their file tools to such a folder: an agent could then
 * read every file of the user on request. Throws with a message naming the path when it is unusable.
 *
 * @example
 * const { root, broad } = checkToolsetRoot('/repo');
 * if (broad && !force) throw new Error(broad);
 */
export function checkToolsetRoot(path: string, home: string = homedir()): RootCheck {
  const absolute = resolve(path);
  let root: string;
  try {
    root = realpathSync(absolute);
  } catch {
    throw new Error(`root folder ${JSON.stringify(absolute)} does not exist`);
  }
  if (!statSync(root).isDirectory()) throw new Error(`root ${JSON.stringify(absolute)} is not a folder`);
  if (parse(root).root === root) {
    return { root, broad: `${JSON.stringify(root)} is the filesystem root: agents could read every file` };
  }
  let realHome: string | undefined;
  try {
    realHome = isAbsolute(home) ? realpathSync(home) : undefined;
  } catch {
    realHome = undefined;
  }
  if (realHome !== undefined && root === realHome) {
    return {
      root,
      broad: `${JSON.stringify(root)} is your home folder: agents could read every file you own (keys, mail, tokens)`,
    };
  }
  return { root };
}
