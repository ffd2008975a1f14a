import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

/** The real OpenTelemetry SDK, registered globally, exporting into memory. `uninstall()` undoes it. */
export function installTracing() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  trace.setGlobalTracerProvider(provider);
  return {
    exporter,
    provider,
    spans: () => exporter.getFinishedSpans(),
    async uninstall() {
      await provider.shutdown();
      trace.disable();
      context.disable();
    },
  };
}

/** The parent span id of a finished span (sdk-trace 2.x keeps the parent's whole context). */
export function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

/** Finished spans whose name is `name` or matches it. */
export function named(spans: readonly ReadableSpan[], name: string | RegExp): ReadableSpan[] {
  return spans.filter((span) => (typeof name === 'string' ? span.name === name : name.test(span.name)));
}
