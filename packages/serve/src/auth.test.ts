import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bearerToken, credentialsFrom, matchToken } from './auth.js';
import { parseServeConfig } from './serve-options.js';
import { isLoopback } from './start-serve.js';

describe('bearer tokens', () => {
  it('reads Authorization: Bearer <token> and nothing else', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer  abc ')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });

  it('matches token, tokenEnv and tokenSha256 entries to their sessions', () => {
    const credentials = credentialsFrom(
      [
        { token: 'one', session: 's1' },
        { tokenEnv: 'TOKEN_TWO', sessions: ['s2', 's3'] },
        { tokenSha256: createHash('sha256').update('three').digest('hex').toUpperCase(), session: 's4' },
      ],
      { TOKEN_TWO: 'two' },
    );
    expect(matchToken(credentials, 'one')?.sessions).toEqual(['s1']);
    expect(matchToken(credentials, 'two')?.sessions).toEqual(['s2', 's3']);
    expect(matchToken(credentials, 'three')?.sessions).toEqual(['s4']);
    expect(matchToken(credentials, 'on')).toBeUndefined();
    expect(matchToken(credentials, '')).toBeUndefined();
    expect(credentials.every((credential) => credential.hash.length === 32)).toBe(true);
  });

  it('refuses a tokenEnv whose variable is not set', () => {
    expect(() => credentialsFrom([{ tokenEnv: 'NOT_SET_HERE', session: 's' }], {})).toThrow(
      /NOT_SET_HERE, which is not set/,
    );
  });
});

describe('the serve config', () => {
  it('names unknown keys and the one meant, and checks each entry', () => {
    expect(() => parseServeConfig({ token: [] })).toThrow(
      'unknown option "serve.token"; did you mean "serve.tokens"?',
    );
    expect(() => parseServeConfig({ tokens: [{ token: 'a' }] })).toThrow(
      /exactly one of session or sessions/,
    );
    expect(() => parseServeConfig({ tokens: [{ token: 'a', tokenEnv: 'B', session: 's' }] })).toThrow(
      /exactly one of token, tokenEnv or tokenSha256, got token and tokenEnv/,
    );
    expect(() => parseServeConfig({ tokens: [{ tokenSha256: 'abc', session: 's' }] })).toThrow(
      /64 hex digits/,
    );
    expect(parseServeConfig(undefined)).toEqual({});
    expect(
      parseServeConfig({ tokens: [{ token: 'a', session: 's' }], cors: { origins: ['https://x'] } }),
    ).toEqual({
      tokens: [{ token: 'a', session: 's' }],
      cors: { origins: ['https://x'] },
    });
  });
});

describe('isLoopback', () => {
  it('knows loopback addresses from the rest', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1'])
      expect(isLoopback(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '192.168.1.5', 'example.com', '128.0.0.1'])
      expect(isLoopback(host), host).toBe(false);
  });
});
