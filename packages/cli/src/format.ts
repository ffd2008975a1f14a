import { plain } from './terminal-text.js';

/** Fits text to a width on one line, without terminal escapes: cut with an ellipsis, or padded with spaces. */
export function fit(text: string, width: number): string {
  const flat = plain(text).replace(/\s+/g, ' ');
  return flat.length > width ? `${flat.slice(0, Math.max(0, width - 1))}…` : flat.padEnd(width);
}

/** Seconds with one decimal. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** A plain-text table: a header row, a rule, then rows; columns sized to their widest cell (capped). */
export function table(header: string[], rows: string[][], maxWidth = 60): string {
  const widths = header.map((title, column) =>
    Math.min(maxWidth, Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length))),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => fit(cell, widths[column]!))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}
