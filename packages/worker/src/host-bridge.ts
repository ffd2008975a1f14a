/**
 * The worker's end of the host bridge: a Comlink proxy over the task's second port, through which the agent
 * calls host tools, a host-side model, and (for orchestrators) the delegation operations. Everything runs on
 * the host's main thread; only arguments and results cross.
 */
import type { MessagePort } from 'node:worker_threads';
import * as Comlink from 'comlink/dist/esm/comlink.mjs';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { z } from 'zod';
import { abortable } from './abortable.js';
import { describeError, LoopError, ToolError } from './errors.js';
import type { Model, ModelMessage, ModelResponse, ModelTool } from './model.js';
import type { BridgeSpec } from './protocol.js';
import type { LoadedTool } from './toolset.js';

/** What the host exposes to a task. */
export interface HostApi {
  /** Runs a host tool (or a delegation operation); resolves to the text the model sees. */
  callTool(name: string, args: unknown): Promise<string>;
  /** One turn of a host-side model. */
  complete(model: string, request: { messages: ModelMessage[]; tools: ModelTool[] }): Promise<ModelResponse>;
}

export class HostBridge {
  readonly #remote: Comlink.Remote<HostApi>;
  readonly #port: MessagePort;
  readonly #signal: AbortSignal;
  readonly #timeoutMs: number;

  constructor(spec: BridgeSpec, signal: AbortSignal) {
    this.#port = spec.port;
    this.#remote = Comlink.wrap<HostApi>(nodeEndpoint(spec.port as never));
    this.#signal = signal;
    this.#timeoutMs = spec.timeoutMs;
  }

  /**
   * A bridge call, bounded: it rejects when the task stops (Comlink never settles a call whose other side has
   * gone, so nothing else would) or when it takes longer than the timeout.
   */
  async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const signal = AbortSignal.any([this.#signal, timeout]);
    try {
      return await abortable(run(), signal);
    } catch (error) {
      if (this.#signal.aborted) throw this.#signal.reason;
      if (timeout.aborted)
        throw new LoopError('tool_error', `${what} took longer than ${this.#timeoutMs} ms`);
      throw error;
    }
  }

  /** Host tools as ordinary tools for the loop; arguments are validated on the host, against its schema. */
  tools(offers: ModelTool[]): Map<string, LoadedTool> {
    const tools = new Map<string, LoadedTool>();
    for (const offer of offers) {
      tools.set(offer.name, {
        offer,
        definition: {
          description: offer.description,
          input: z.unknown(),
          run: (args) =>
            this.call(`host tool ${offer.name}`, () => this.#remote.callTool(offer.name, args)).catch(
              (error: unknown) => {
                if (error instanceof LoopError || this.#signal.aborted) throw error;
                // The host refused or failed the call: tell the model, as a tool error does.
                throw new ToolError(describeError(error));
              },
            ),
        },
      });
    }
    return tools;
  }

  /** A model whose turns run on the host (credentials and HTTP client stay there). */
  model(name: string): Model {
    return {
      complete: ({ messages, tools }) =>
        this.call(`host model ${name}`, () =>
          this.#remote.complete(name, { messages: [...messages], tools: [...tools] }),
        ),
    };
  }

  close(): void {
    this.#remote[Comlink.releaseProxy]();
    this.#port.close();
  }
}
