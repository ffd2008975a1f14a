import { type MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import type { CancelToken } from './cancel-token.js';
import { CONTROL, type ParentMessage } from './protocol.js';

/** A steering message as the agent receives it. */
export interface Steering {
  seq: number;
  text: string;
}

/**
 * Receives the parent's messages on the task port.
 *
 * A listener catches messages while the loop awaits (so a `cancel` can abort in-flight work), and
 * {@link Inbox.drain} pulls the rest synchronously with `receiveMessageOnPort` so that a loop that never
 * yields still gets its steering. Both feed the same pending list, so nothing is seen twice or lost.
 */
export class Inbox {
  readonly #port: MessagePort;
  readonly #control: Int32Array;
  readonly #token: CancelToken;
  #pending: Steering[] = [];
  /** Steering messages taken off the port so far; compared with the parent's counter to skip empty drains. */
  #received = 0;
  readonly #onMessage = (message: unknown) => this.#accept(message);

  constructor(port: MessagePort, control: Int32Array, token: CancelToken) {
    this.#port = port;
    this.#control = control;
    this.#token = token;
    port.on('message', this.#onMessage);
  }

  /** Takes every steering message that has arrived, in order. Cheap when there is none. */
  drain(): Steering[] {
    if (Atomics.load(this.#control, CONTROL.steerCount) !== this.#received) {
      for (let entry = receiveMessageOnPort(this.#port); entry; entry = receiveMessageOnPort(this.#port)) {
        this.#accept(entry.message);
      }
    }
    const taken = this.#pending;
    this.#pending = [];
    return taken;
  }

  close(): void {
    this.#port.off('message', this.#onMessage);
  }

  #accept(raw: unknown): void {
    if (!isParentMessage(raw)) return;
    const message = raw;
    if (message.kind === 'cancel') {
      this.#token.requested();
      return;
    }
    this.#received += 1;
    this.#pending.push({ seq: message.seq, text: message.text });
  }
}

/** Only the host posts on this port; the check keeps a malformed message from reaching the model. */
function isParentMessage(raw: unknown): raw is ParentMessage {
  if (raw === null || typeof raw !== 'object') return false;
  const message = raw as Record<string, unknown>;
  if (message.kind === 'cancel') return true;
  return (
    message.kind === 'steer' &&
    Number.isSafeInteger(message.seq) &&
    (message.seq as number) > 0 &&
    typeof message.text === 'string'
  );
}
