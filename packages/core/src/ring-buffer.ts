import { Redactor } from '@errand/worker';

/**
 * The bounded tail of a task's output, as lines.
 *
 * Text arrives in pieces (model deltas end mid-line), so the last line stays open until a newline closes it.
 * Each line is cut to `lineChars`; only the last `capacity` closed lines are kept, and `dropped` counts the
 * rest. Memory is bounded by `capacity × lineChars` whatever is written, and every operation is O(written).
 *
 * Secrets are redacted here, where chunks become lines: a key streamed in two deltas is whole only here. A
 * line is redacted before it is cut, so the open line keeps `longest secret - 1` characters past the cut, and
 * the open line is redacted again whenever it is read (hiding a tail that may be the start of a key).
 */
export class RingBuffer {
  readonly capacity: number;
  readonly lineChars: number;
  readonly #redactor: Redactor;
  /** Characters of the open line kept: the cut plus room for a secret that starts just before it. */
  readonly #keep: number;
  readonly #lines: string[];
  /** Closed lines ever written; line `i` (0-based) lives at `#lines[i % capacity]` while retained. */
  #total = 0;
  #open = '';
  #openLength = 0;
  /** The open line was cut out of a much larger string (see `#close`). */
  #openIsSlice = false;

  constructor(capacity: number, lineChars: number, redactor: Redactor = Redactor.none) {
    this.capacity = capacity;
    this.lineChars = lineChars;
    this.#redactor = redactor;
    this.#keep = lineChars + Math.max(0, redactor.longest - 1);
    // Grown on demand (line i lands at index i while i < capacity): most tasks write a few lines, and
    // reserving every slot up front cost each task ~1.6 KB with the default 200.
    this.#lines = [];
  }

  /** Closed lines plus the open one, if it has text. */
  get lineCount(): number {
    return this.#total + (this.#openLength > 0 ? 1 : 0);
  }

  /** Closed lines no longer retained. */
  get dropped(): number {
    return Math.max(0, this.#total - this.capacity);
  }

  /** Index of the oldest retained closed line. */
  get firstIndex(): number {
    return this.dropped;
  }

  /** Closed lines ever written (the index the next closed line will get). */
  get closedCount(): number {
    return this.#total;
  }

  /** Appends streamed text: newlines close lines, the remainder stays open. */
  write(text: string): void {
    let start = 0;
    for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', start)) {
      this.#extend(text, start, newline);
      this.#close();
      start = newline + 1;
    }
    if (start < text.length) this.#extend(text, start, text.length);
  }

  /** Appends whole lines: closes any open line first, and the text's last line too. */
  writeLines(text: string): void {
    if (this.#openLength > 0) this.#close();
    this.write(text);
    if (!text.endsWith('\n')) this.#close();
  }

  /**
   * Counts `lines` newline-terminated lines whose text never arrived (the worker cut them from the front of an
   * over-long chunk): the first closes the open line, the rest are written as `…` where they would still be
   * retained. With `wholeLines`, an open line is closed first, as {@link writeLines} does. O(min(lines, capacity)).
   */
  skip(lines: number, wholeLines = false): void {
    if (!(lines > 0)) return;
    if (wholeLines) this.end();
    this.#close();
    let rest = lines - 1;
    // Lines that would fall out of the window at once are only counted.
    const unseen = Math.max(0, rest - this.capacity);
    this.#total += unseen;
    rest -= unseen;
    for (; rest > 0; rest--) {
      this.#open = '…';
      this.#close();
    }
  }

  /** Closes the open line (at task end), so it counts as a whole line. */
  end(): void {
    if (this.#openLength > 0) this.#close();
  }

  /** The last `count` lines, oldest first, including the open line. */
  tail(count: number): string[] {
    const open = this.#openLength > 0 ? 1 : 0;
    const closedWanted = Math.max(0, Math.min(count - open, this.#total - this.firstIndex));
    const lines = this.slice(this.#total - closedWanted, this.#total);
    if (open && count > 0)
      lines.push(this.#redactor.redact(this.#open, { limit: this.lineChars, open: true }));
    return lines;
  }

  /** Closed lines with indexes in `[from, to)`, clamped to what is retained. */
  slice(from: number, to: number = this.#total): string[] {
    const start = Math.max(from, this.firstIndex);
    const end = Math.min(to, this.#total);
    const lines: string[] = [];
    for (let index = start; index < end; index++) lines.push(this.#lines[index % this.capacity]!);
    return lines;
  }

  #extend(text: string, start: number, end: number): void {
    const room = this.#keep - this.#openLength;
    const length = end - start;
    if (room > 0 && length > 0) {
      const take = Math.min(room, length);
      this.#open += text.slice(start, start + take);
      if (text.length > 2 * take) this.#openIsSlice = true;
    }
    // Count what was cut too, so an over-long line is known to be over-long without keeping it.
    this.#openLength += length;
  }

  #close(): void {
    // V8 keeps a slice of a string as a view that pins the whole parent: a 500-character line cut from a
    // 20,000-character tool result would keep all 20,000 alive. Concatenating and slicing again makes V8
    // flatten the line into a string of its own, so a retained line costs its own length and no more.
    const line = this.#redactor.redact(this.#open, { limit: this.lineChars });
    this.#lines[this.#total % this.capacity] = this.#openIsSlice ? ` ${line}`.slice(1) : line;
    this.#openIsSlice = false;
    this.#total += 1;
    this.#open = '';
    this.#openLength = 0;
  }
}
