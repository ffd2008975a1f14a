import type { TaskSnapshot } from '@errand/core';
import logUpdate from 'log-update';
import { fit, seconds } from './format.js';

/** One row of the live view. */
export interface Row {
  label: string;
  snapshot: TaskSnapshot;
  steering?: string;
}

/**
 * The demo's screen. On a terminal it redraws one row per task in place (log-update); anywhere else (CI,
 * pipes) it prints plain lines for the moments that matter and never redraws.
 */
export class LiveView {
  readonly #tty: boolean;
  readonly #write: (text: string) => void;

  constructor(tty: boolean, write: (text: string) => void) {
    this.#tty = tty;
    this.#write = write;
  }

  /** Redraws the rows (terminal only). */
  render(rows: Row[], meter: string): void {
    if (!this.#tty) return;
    const lines = rows.map(({ label, snapshot, steering }) => {
      const last = snapshot.preview.at(-1) ?? '';
      return [
        fit(label, 8),
        fit(snapshot.status, 10),
        `it ${String(snapshot.iterations).padStart(2)}`,
        seconds(snapshot.elapsedMs).padStart(6),
        fit(steering ?? '', 22),
        fit(last, 60),
      ].join('  ');
    });
    logUpdate([...lines, '', meter].join('\n'));
  }

  /** A line worth keeping: printed as is on a terminal (above the rows), or as a progress line elsewhere. */
  note(text: string): void {
    if (this.#tty) {
      logUpdate.clear();
      this.#write(`${text}\n`);
    } else {
      this.#write(`${new Date().toISOString().slice(11, 23)} ${text}\n`);
    }
  }

  /** Leaves the last frame on screen. */
  done(): void {
    if (this.#tty) logUpdate.done();
  }
}
