import stringWidth from 'string-width';
import { plain } from './terminal-text.js';

const graphemes = new Intl.Segmenter();

/**
 * Fits text to a width in terminal columns on one line, without terminal escapes: cut with an ellipsis, or
 * padded with spaces. Widths are display widths: a CJK character or an emoji takes two columns, a combining
 * mark none, and a wide character is never cut in half.
 *
 * @example
 * fit('日本語のテキスト', 7) // '日本語…' (6 columns + the ellipsis)
 */
export function fit(text: string, width: number): string {
  const flat = plain(text).replace(/\s+/g, ' ');
  const kept = clip(flat, width);
  return kept + ' '.repeat(Math.max(0, width - stringWidth(kept)));
}

/** Cuts one line of plain text to at most `width` display columns, ending with an ellipsis when it cut. */
export function clip(line: string, width: number): string {
  if (stringWidth(line) <= width) return line;
  if (width <= 0) return '';
  let kept = '';
  let columns = 0;
  for (const { segment } of graphemes.segment(line)) {
    const next = stringWidth(segment);
    if (columns + next > width - 1) break;
    kept += segment;
    columns += next;
  }
  return `${kept}…`;
}

/**
 * Text whose every line is cut to `width - 1` columns: what a terminal shows without wrapping. Without a width
 * (not a terminal: logs, pipes) the text is left whole.
 */
export function fitLines(text: string, width: number | undefined): string {
  if (!width) return text;
  return text
    .split('\n')
    .map((line) => clip(line, width - 1))
    .join('\n');
}

/** A local date and time to the second, `2025-03-14 09:26:53`, for tables and `show`. */
export function when(ms: number): string {
  const date = new Date(ms);
  const two = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

/** Seconds with one decimal. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** A plain-text table: a header row, a rule, then rows; columns sized to their widest cell (capped). */
export function table(header: string[], rows: string[][], maxWidth = 60): string {
  const widths = header.map((title, column) =>
    Math.min(
      maxWidth,
      Math.max(
        stringWidth(title),
        ...rows.map((row) => stringWidth(plain(row[column] ?? '').replace(/\s+/g, ' '))),
      ),
    ),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => fit(cell, widths[column]!))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}
