import { createHash, timingSafeEqual } from 'node:crypto';
import { InvalidInputError } from '@errand/core';
import type { ServeTokenEntry } from './serve-options.js';

/** A token as the server keeps it: its SHA-256, never the token, and the sessions it may act in. */
export interface Credential {
  readonly hash: Buffer;
  readonly sessions: readonly string[];
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * The configured tokens, hashed at start. `tokenEnv` is read here, once: a variable that is not set is an
 * error at start rather than a token nobody can match.
 */
export function credentialsFrom(
  entries: readonly ServeTokenEntry[],
  env: NodeJS.ProcessEnv = process.env,
): Credential[] {
  return entries.map((entry, index) => {
    const sessions = entry.sessions ?? (entry.session === undefined ? [] : [entry.session]);
    if (entry.tokenSha256 !== undefined)
      return { hash: Buffer.from(entry.tokenSha256.toLowerCase(), 'hex'), sessions };
    let token = entry.token;
    if (entry.tokenEnv !== undefined) {
      token = env[entry.tokenEnv];
      if (!token) {
        throw new InvalidInputError(
          `serve.tokens.${index}.tokenEnv`,
          entry.tokenEnv,
          `names the environment variable ${entry.tokenEnv}, which is not set (or empty)`,
        );
      }
    }
    if (!token) {
      throw new InvalidInputError(`serve.tokens.${index}`, entry, 'has no token, tokenEnv or tokenSha256');
    }
    return { hash: sha256(token), sessions };
  });
}

/**
 * Finds the credential for a presented token. Every configured hash is compared, with `timingSafeEqual` on
 * fixed-length digests, whatever matched first: the time taken says nothing about which token, or how much of
 * one, was right.
 */
export function matchToken(credentials: readonly Credential[], token: string): Credential | undefined {
  const presented = sha256(token);
  let found: Credential | undefined;
  for (const credential of credentials) {
    if (timingSafeEqual(presented, credential.hash) && found === undefined) found = credential;
  }
  return found;
}

/** The token of an `Authorization: Bearer …` header, or undefined when there is none of that form. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
