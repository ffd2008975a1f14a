import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonForTerminal } from './run.js';
import { plain } from './terminal-text.js';

describe('plain', () => {
  it('removes escape sequences and controls but keeps the text, newlines and tabs', () => {
    expect(plain('TODO \u001b]0;pwned\u0007\u001b[2Jdone')).toBe('TODO done');
    expect(plain('a\u001b[1;31mred\u001b[0m\tb\n')).toBe('ared\tb\n');
    expect(plain('x\u001b]8;;https://evil\u001b\\link\u001b]8;;\u001b\\y')).toBe('xlinky');
    expect(plain('\u001b]52;c;cGF5bG9hZA==\u0007copied')).toBe('copied');
    expect(plain('c1 \u009b31mcsi \u009d0;t\u009cosc')).toBe('c1 csi osc');
    expect(plain('reset\u001bc, charset\u001b(0 bell\u0007 cr\r del\u007f nul\u0000')).toBe(
      'reset, charset bell cr del nul',
    );
    expect(plain('unterminated \u001b]0;title forever')).toBe('unterminated ');
    expect(plain('naïve ✓ 日本 \u{1f600}')).toBe('naïve ✓ 日本 \u{1f600}');
  });

  it('never leaves a control character but newline and tab', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        expect(plain(text)).not.toMatch(/(?![\n\t])\p{Cc}/u);
      }),
    );
  });
});

describe('jsonForTerminal', () => {
  it('escapes DEL and C1 as well as C0, and parses back to the same value', () => {
    const value = { result: 'a\u009b2J b\u001b]0;t\u0007 c\u007f\n' };
    const text = jsonForTerminal(value);
    expect(text).not.toMatch(/(?![\n\t])\p{Cc}/u);
    expect(text).toContain('\\u009b2J');
    expect(JSON.parse(text)).toEqual(value);
  });
});
