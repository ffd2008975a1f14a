import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { readmeExample } from './readme.js';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../..', import.meta.url));

describe('test/quickstart.mjs (the README says: node test/quickstart.mjs)', () => {
  it('is the README quickstart as written', async () => {
    const { code } = await readmeExample('quickstart.mjs');
    expect(await readFile(new URL('../quickstart.mjs', import.meta.url), 'utf8')).toBe(code);
  });

  it('runs from the repository root and prints what the README shows', async () => {
    const { output } = await readmeExample('quickstart.mjs');
    const { stdout } = await run(process.execPath, ['test/quickstart.mjs'], { cwd: repo, timeout: 30_000 });
    const lines = stdout.trim().split('\n');
    expect(['queued', 'running']).toContain(lines[0]);
    expect(lines.slice(1).join('\n').replace(/\s+/g, ' ')).toBe(output!.trim().replace(/\s+/g, ' '));
  });
});
