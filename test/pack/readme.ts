/**
 * The code blocks of the READMEs (the repository's and each package's), read by their markers. A block runs in CI
 * when the line before its fence is `<!-- example: file-name.ext -->` (test/pack/readme-examples.test.ts writes it to
 * that file in a project with the packed packages installed); `<!-- fragment: why -->` marks a piece of a larger program that is not run, saying
 * why. Shell blocks and bare blocks (program output) need no marker.
 */
import { readFile } from 'node:fs/promises';

export interface ReadmeBlock {
  /** The fence's language: `js`, `ts`, `json`, `sh`, or '' for a bare block. */
  lang: string;
  code: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The marker on the line before the fence, if any. */
  marker?: { kind: 'example' | 'fragment'; value: string };
  /** The first bare block after this one (an example's expected output), if no other fence comes between. */
  output?: string;
}

export const README = new URL('../../README.md', import.meta.url);

/** The blocks of a README (default: the repository's). */
export async function readmeBlocks(readme: URL | string = README): Promise<ReadmeBlock[]> {
  const lines = (await readFile(readme, 'utf8')).split('\n');
  const blocks: ReadmeBlock[] = [];
  for (let index = 0; index < lines.length; index += 1) {
    const fence = /^```(\w*)\s*$/.exec(lines[index]!);
    if (!fence) continue;
    const end = lines.indexOf('```', index + 1);
    if (end < 0) throw new Error(`${readme}:${index + 1}: a code block that never closes`);
    const marker = /^<!-- (example|fragment): (.+?) -->$/.exec(lines[index - 1] ?? '');
    blocks.push({
      lang: fence[1]!,
      code: `${lines.slice(index + 1, end).join('\n')}\n`,
      line: index + 1,
      ...(marker && { marker: { kind: marker[1] as 'example' | 'fragment', value: marker[2]! } }),
    });
    index = end;
  }
  for (const [index, block] of blocks.entries()) {
    const next = blocks[index + 1];
    if (block.marker?.kind === 'example' && next?.lang === '' && !next.marker) block.output = next.code;
  }
  return blocks;
}

/** The code (and output, if the README shows one) of the example written to `file`. */
export async function readmeExample(file: string): Promise<ReadmeBlock> {
  const found = (await readmeBlocks()).find(
    (block) => block.marker?.kind === 'example' && block.marker.value === file,
  );
  if (!found) throw new Error(`README.md has no <!-- example: ${file} --> block`);
  return found;
}
