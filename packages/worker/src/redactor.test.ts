import { describe, expect, it } from 'vitest';
import { REDACTED, Redactor, secretValues } from './redactor.js';

const key = 'sk-test-abcdef1234567890';

describe('Redactor', () => {
  it('returns its input when it knows no secrets, cut to the limit if one is given', () => {
    const text = 'nothing to hide';
    expect(Redactor.none.redact(text)).toBe(text);
    expect(Redactor.none.redact(text, { limit: 7 })).toBe('nothing');
    expect(Redactor.none.active).toBe(false);
  });

  it('replaces every secret, the longest first', () => {
    const redactor = new Redactor(['sk-test-abcd', key]);
    expect(redactor.redact(`a ${key} b sk-test-abcd c`)).toBe(`a ${REDACTED} b ${REDACTED} c`);
  });

  it('redacts before cutting: a key that straddles the cut shows none of its characters', () => {
    const redactor = new Redactor([key]);
    for (let start = 480; start < 500; start++) {
      const line = `${'x'.repeat(start)}${key} tail`;
      const cut = redactor.redact(line, { limit: 500 });
      expect(cut.length).toBeLessThanOrEqual(500);
      expect(cut.startsWith('x'.repeat(start))).toBe(true);
      for (let index = 0; index + 4 <= key.length; index++)
        expect(cut).not.toContain(key.slice(index, index + 4));
    }
  });

  it('hides a tail that begins a secret on open text, since the rest may follow', () => {
    const redactor = new Redactor([key]);
    for (let split = 4; split < key.length; split++) {
      expect(redactor.redact(`using ${key.slice(0, split)}`, { open: true })).toBe(`using ${REDACTED}`);
    }
    expect(redactor.redact('using sk-', { open: true })).toBe('using sk-');
    expect(redactor.redact(`using ${key.slice(0, 10)}`)).toBe(`using ${key.slice(0, 10)}`);
  });

  it('takes secret-looking variables and the named ones, at least 8 characters long', () => {
    const env = {
      OPENAI_API_KEY: 'k'.repeat(20),
      OPENAI_PAT: 'p'.repeat(20),
      HOME: '/home/someone',
      SHORT_TOKEN: 'abc',
    };
    expect(secretValues(env).sort()).toEqual(['k'.repeat(20)]);
    expect(secretValues(env, ['OPENAI_PAT']).sort()).toEqual(['k'.repeat(20), 'p'.repeat(20)]);
  });
});
