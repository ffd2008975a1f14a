import type { TaskSnapshot } from '@errand/core';
import logUpdate from 'log-update';
import sliceAnsi from 'slice-ansi';
import stringWidth from 'string-width';
import { fit, seconds } from './format.js';

/** One row of the live view. */
export interface Row {
  label: string;
  snapshot: TaskSnapshot;
  steering?: string;
}

/** How rows are drawn. */
export interface RenderOptions {
  /** Terminal width in columns; every line fits in it. @default 80 */
  columns?: number | undefined;
  /** Colour the statuses (ANSI SGR). Off for NO_COLOR and when not on a terminal. @default false */
  color?: boolean;
  /** Animation step of the spinner on running rows. @default 0 */
  frame?: number;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const MARK: Record<string, string> = {
  queued: '·',
  completed: '✔',
  failed: '✖',
  timed_out: '✖',
  cancelled: '⊘',
};
// SGR colours: green, red, yellow, cyan, dim.
const COLOUR: Record<string, number> = {
  completed: 32,
  failed: 31,
  timed_out: 31,
  cancelled: 33,
  running: 36,
  queued: 2,
};

/**
 * The rows as lines for a terminal `columns` wide: a status mark (a spinner while running), the label, the status
 * in words and colour, iterations, elapsed time, steering, and as much of the last output line as fits. Cells
 * are sized by display width, so CJK text and emoji line up.
 */
export function renderRows(rows: Row[], options: RenderOptions = {}): string[] {
  const columns = Math.max(20, options.columns ?? 80);
  const frame = options.frame ?? 0;
  return rows.map(({ label, snapshot, steering }) => {
    const { status } = snapshot;
    const mark = status === 'running' ? SPINNER[frame % SPINNER.length]! : (MARK[status] ?? ' ');
    const paint = (text: string) =>
      options.color && COLOUR[status] !== undefined ? `\u001b[${COLOUR[status]}m${text}\u001b[39;22m` : text;
    const iterations = `${snapshot.iterations} ${snapshot.iterations === 1 ? 'iteration' : 'iterations'}`;
    const cells = [
      paint(`${mark} ${fit(label, 8)}`),
      paint(fit(status.replace('_', ' '), 9)),
      fit(iterations, 13),
      seconds(snapshot.elapsedMs).padStart(6),
      ...(columns >= 100 ? [fit(steering ?? '', 18)] : []),
    ];
    const fixed = cells.join('  ');
    const room = columns - stringWidth(fixed) - 2;
    const line = room >= 8 ? `${fixed}  ${fit(snapshot.preview.at(-1) ?? '', room)}` : fixed;
    // The last guard: narrow terminals cut the fixed cells too, never wrapping a row onto two lines.
    return cut(line, columns).trimEnd();
  });
}

/**
 * A coloured line cut to `columns` display columns. slice-ansi keeps the colour codes whole but counts some
 * symbols narrower than string-width does, so the cut is re-measured until it fits.
 */
function cut(line: string, columns: number): string {
  let end = columns;
  let kept = line;
  while (stringWidth(kept) > columns && end > 0) kept = sliceAnsi(line, 0, end--);
  return kept;
}

/** Whether to colour output on this stream: a terminal that has colours, and no NO_COLOR set. */
export function useColour(stream: NodeJS.WriteStream = process.stdout, env = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return Boolean(stream.isTTY) && (stream.hasColors?.() ?? false);
}

/**
 * The demo's screen. On a terminal it redraws one row per task in place (log-update), fitted to the terminal's
 * width; anywhere else (CI, pipes) it prints plain lines for the moments that matter and never redraws.
 */
export class LiveView {
  readonly #tty: boolean;
  readonly #write: (text: string) => void;
  readonly #columns: () => number | undefined;
  readonly #color: boolean;
  #frame = 0;

  constructor(
    tty: boolean,
    write: (text: string) => void,
    columns: () => number | undefined = () => undefined,
  ) {
    this.#tty = tty;
    this.#write = write;
    this.#columns = columns;
    this.#color = tty && useColour();
  }

  /** Redraws the rows (terminal only). */
  render(rows: Row[], meter: string): void {
    if (!this.#tty) return;
    const columns = this.#columns() ?? 80;
    this.#frame += 1;
    const lines = renderRows(rows, { columns, color: this.#color, frame: this.#frame });
    logUpdate([...lines, '', fit(meter, columns - 1).trimEnd()].join('\n'));
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
