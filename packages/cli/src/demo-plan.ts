import { type Dirent, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One goal of the demo, with the short label its row shows. */
export interface DemoGoal {
  label: string;
  goal: string;
}

/** The demo's plan for one folder: its goals, which one is steered (and how) and which one is cancelled. */
export interface DemoPlan {
  goals: DemoGoal[];
  /** Label of the goal that is steered once it is working. */
  steer: string;
  /** The steering message: narrows that goal to a part of the folder that exists. */
  steering: string;
  /** Label of the goal that is cancelled once it is working. */
  cancel: string;
}

// What the workspace toolsets skip too, and hidden entries (.git, .cache).
const SKIPPED = new Set(['node_modules', 'dist', 'coverage']);
const TEXT = /\.(?:md|markdown|txt|rst|adoc)$/i;

/**
 * Goals about the files that are really in `root`, so that the demo works on any folder: the largest
 * subfolder's name (or `.`), a text file (README first), `package.json` when there is one. Paths are written
 * relative to the root, as the offline demo model and the toolsets read them.
 *
 * @example
 * planDemo('/tmp/notes').goals[0] // { label: 'todos', goal: 'Count TODOs under ./' } for a folder without subfolders
 */
export function planDemo(root: string): DemoPlan {
  const entries = readdirSync(root, { withFileTypes: true }).filter(
    (entry) => !entry.name.startsWith('.') && !SKIPPED.has(entry.name),
  );
  const names = (keep: (entry: (typeof entries)[number]) => boolean) =>
    entries
      .filter(keep)
      .map((entry) => entry.name)
      .sort();
  const folders = names((entry) => entry.isDirectory() && /^[\w.-]+$/.test(entry.name));
  const files = names((entry) => entry.isFile() && /^[\w.-]+$/.test(entry.name));
  // The busiest subfolder, so that "count TODOs" and "hash every file" have something to chew on.
  const folder = folders.sort((a, b) => count(join(root, b)) - count(join(root, a)))[0];
  const under = folder ? `${folder}/` : './';
  const text = files.find((name) => /^readme/i.test(name)) ?? files.find((name) => TEXT.test(name));
  const goals: DemoGoal[] = [
    { label: 'todos', goal: `Count TODOs under ${under}` },
    { label: 'hash', goal: `Hash every file under ${under} 40 times over` },
    { label: 'largest', goal: `Find the largest files under ${under}` },
    { label: 'stats', goal: `Text statistics for ${text ? `./${text}` : './'}` },
    devDependencies(root)
      ? { label: 'deps', goal: 'Which devDependencies does package.json list?' }
      : { label: 'files', goal: 'List the files under ./' },
    { label: 'marathon', goal: 'Hash every file in the repository 1000 times over' },
  ];
  // Steering narrows the hash to one part of its folder: a subfolder when there is one, else one file.
  const inside = folder ? join(root, folder) : root;
  const narrower = readdirSync(inside, { withFileTypes: true })
    .filter(
      (entry) => !entry.name.startsWith('.') && !SKIPPED.has(entry.name) && /^[\w.-]+$/.test(entry.name),
    )
    .sort((a, b) => Number(b.isDirectory()) - Number(a.isDirectory()) || a.name.localeCompare(b.name))[0];
  const target = narrower ? `${folder ? `${folder}/` : './'}${narrower.name}` : under;
  return { goals, steer: 'hash', steering: `Only look at ${target}, please`, cancel: 'marathon' };
}

function devDependencies(root: string): boolean {
  try {
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      devDependencies?: object;
    };
    return Boolean(manifest.devDependencies && Object.keys(manifest.devDependencies).length);
  } catch {
    return false;
  }
}

/** Files under a folder, up to a bound (enough to rank folders, cheap on huge trees). */
function count(folder: string, budget = { left: 5_000 }): number {
  let total = 0;
  let entries: Dirent[];
  try {
    entries = readdirSync(folder, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    if (budget.left-- <= 0) break;
    if (entry.name.startsWith('.') || SKIPPED.has(entry.name)) continue;
    if (entry.isDirectory()) total += count(join(folder, entry.name), budget);
    else if (entry.isFile()) total += 1;
  }
  return total;
}
