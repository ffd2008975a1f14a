import { createRequire } from 'node:module';
import type * as OtelApi from '@opentelemetry/api';

export type { OtelApi };

let loaded: typeof OtelApi | null | undefined;

/**
 * `@opentelemetry/api` when the host installed it (an optional peer), else `undefined`; looked up once.
 *
 * `require`, not `import()`: `delegate()` is synchronous and must read the caller's active context at once. A
 * CommonJS copy of the API sees the tracer provider an app registered through the ESM copy, since the API
 * keeps its registrations on `globalThis` per major version.
 */
export function otelApi(): typeof OtelApi | undefined {
  if (loaded === undefined) {
    try {
      loaded = createRequire(import.meta.url)('@opentelemetry/api') as typeof OtelApi;
    } catch {
      loaded = null;
    }
  }
  return loaded ?? undefined;
}
