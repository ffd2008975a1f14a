import type { ContentfulStatusCode } from 'hono/utils/http-status';

/**
 * The HTTP status for each error code the API answers with. The codes are the tools' codes (and `unauthorized`,
 * `payload_too_large` and `internal`, which only HTTP has); any other code is a server-side failure.
 */
const STATUS_FOR_CODE: Readonly<Record<string, ContentfulStatusCode>> = {
  invalid_input: 400,
  unauthorized: 401,
  not_found: 404,
  task_finished: 409,
  payload_too_large: 413,
  limit_exceeded: 429,
  shutting_down: 503,
};

/** The status an error code is answered with: 500 for codes that say the server failed. */
export function statusForCode(code: string): ContentfulStatusCode {
  return Object.hasOwn(STATUS_FOR_CODE, code) ? (STATUS_FOR_CODE[code] as ContentfulStatusCode) : 500;
}

/** Every error body of the API: `{ "error": { "code", "message" } }`, the tools' own shape. */
export interface ErrorBody {
  error: { code: string; message: string };
}

/** An error body. */
export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}
