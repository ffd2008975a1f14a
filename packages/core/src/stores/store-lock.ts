/**
 * Store files held open by this process, by real path. SQLite's exclusive lock already keeps a second
 * connection out, in this process too; this set only lets a same-process second open fail before it touches
 * the file, with a message that says where the holder is. Kept on `globalThis` under a `Symbol.for` key so
 * that two copies of this package in one process still see each other's stores.
 */
const HELD = Symbol.for('errand.sqlite-store.held-paths');

function heldPaths(): Set<string> {
  const scope = globalThis as { [HELD]?: Set<string> };
  scope[HELD] ??= new Set<string>();
  return scope[HELD];
}

/** True if a store of this process holds `realPath`. */
export function isHeld(realPath: string): boolean {
  return heldPaths().has(realPath);
}

/** Records that a store of this process now holds `realPath`. */
export function hold(realPath: string): void {
  heldPaths().add(realPath);
}

/** Forgets `realPath` once its store has closed. */
export function release(realPath: string): void {
  heldPaths().delete(realPath);
}
