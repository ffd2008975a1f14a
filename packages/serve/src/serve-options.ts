import { InvalidInputError, parseOrThrow } from '@errand/core';
import { z } from 'zod';

/**
 * One bearer token and the session(s) it may act in. Exactly one of `token`, `tokenEnv` or `tokenSha256`
 * gives the secret; exactly one of `session` or `sessions` binds it.
 *
 * @example { token: 'a-long-random-string', session: 's1' }
 * @example { tokenEnv: 'ERRAND_TOKEN_OPS', sessions: ['ops', 'ops-batch'] }
 */
export interface ServeTokenEntry {
  /** The token itself (fine for tests; prefer `tokenEnv` or `tokenSha256` in files you commit). */
  token?: string;
  /** The name of an environment variable that holds the token, read once at start. */
  tokenEnv?: string;
  /** The SHA-256 of the token, as 64 hex digits (`printf %s "$TOKEN" | sha256sum`): the file holds no secret. */
  tokenSha256?: string;
  /** The one session this token acts in. */
  session?: string;
  /**
   * Several sessions: a request picks one with the `X-Errand-Session` header; without it, the first one.
   */
  sessions?: string[];
}

/** The `serve` key of `errand.json` (everything else in the file is `SupervisorOptions`). */
export interface ServeConfig {
  /**
   * Who may call the API. Without tokens the API is open, which `startServe` only allows on a loopback host.
   * @default []
   */
  tokens?: ServeTokenEntry[];
  /** Cross-origin requests are refused unless their origin is listed here. @default no CORS headers at all */
  cors?: { origins: string[] };
  /** Largest request body, in bytes; a larger one is answered 413 `payload_too_large`. @default 1_048_576 */
  maxBodyBytes?: number;
}

const session = z.string().min(1).max(256);

const tokenEntrySchema = z
  .object({
    token: z.string().min(1).optional(),
    tokenEnv: z.string().min(1).optional(),
    tokenSha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'the SHA-256 of the token as 64 hex digits')
      .optional(),
    session: session.optional(),
    sessions: z.array(session).min(1).optional(),
  })
  .strict();

/** The `serve` key's schema: strict, so a mistyped key is named rather than ignored. */
export const serveConfigSchema = z
  .object({
    tokens: z.array(tokenEntrySchema).optional(),
    cors: z
      .object({ origins: z.array(z.string().min(1)).min(1) })
      .strict()
      .optional(),
    maxBodyBytes: z
      .number()
      .int()
      .min(1_024)
      .max(64 * 1_048_576)
      .optional(),
  })
  .strict();

const fileSchema = z.object({ serve: serveConfigSchema }).strict();

/**
 * Checks the `serve` key of a config file and returns it typed. Throws `InvalidInputError` naming the key
 * (`unknown option "serve.tokens.0.sesion"; did you mean "serve.tokens.0.session"?`).
 */
export function parseServeConfig(value: unknown): ServeConfig {
  const config = parseOrThrow(fileSchema, { serve: value ?? {} }, 'option').serve as ServeConfig;
  for (const [index, entry] of (config.tokens ?? []).entries()) {
    const field = `serve.tokens.${index}`;
    const secrets = (['token', 'tokenEnv', 'tokenSha256'] as const).filter((key) => entry[key] !== undefined);
    if (secrets.length !== 1) {
      const got = secrets.length === 0 ? 'none' : secrets.join(' and ');
      throw new InvalidInputError(
        field,
        entry,
        `needs exactly one of token, tokenEnv or tokenSha256, got ${got}`,
      );
    }
    const bindings = (['session', 'sessions'] as const).filter((key) => entry[key] !== undefined);
    if (bindings.length !== 1) {
      const got = bindings.length === 0 ? 'none' : 'both';
      throw new InvalidInputError(field, entry, `needs exactly one of session or sessions, got ${got}`);
    }
  }
  return config;
}
