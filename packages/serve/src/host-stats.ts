import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import type { Supervisor, TaskStatusChange } from '@errand/core';
import type { SseStats } from './sse.js';

/** What `GET /v1/host` answers: the host's health as the dashboard shows it. */
export interface HostReport {
  /** Event-loop delay of the serving process over the last window (about 10 s), in milliseconds. */
  event_loop_delay_ms: { p50: number; p99: number; max: number };
  /** Agents running now against the pool's threads. */
  pool: { running: number; capacity: number; use: number };
  /** Server-Sent Events clients connected now, and how many were cut off for falling behind. */
  streams: { clients: number; dropped: number };
  uptime_seconds: number;
}

const WINDOW_MS = 10_000;
const ms = (nanoseconds: number) => Math.round(nanoseconds / 10_000) / 100;

/**
 * The serving process's event-loop delay (a `monitorEventLoopDelay` histogram, restarted every window) and
 * how many agents run, counted from the supervisor's `task-status` events (every supervisor of the process
 * shares the one loop; the pool is this supervisor's).
 */
export class HostStats {
  readonly #histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 1 });
  readonly #supervisor: Supervisor;
  readonly #capacity: number;
  readonly #streams: SseStats;
  readonly #started = Date.now();
  #windowStart = Date.now();
  #running = 0;
  readonly #onStatus = (change: TaskStatusChange) => {
    if (change.to === 'running') this.#running += 1;
    if (change.from === 'running') this.#running -= 1;
  };

  constructor(supervisor: Supervisor, capacity: number, streams: SseStats) {
    this.#supervisor = supervisor;
    this.#capacity = capacity;
    this.#streams = streams;
    this.#histogram.enable();
    supervisor.on('task-status', this.#onStatus);
  }

  /** The report now; starts a new delay window when the current one is old enough. */
  report(): HostReport {
    const histogram = this.#histogram;
    const delay =
      histogram.count === 0
        ? { p50: 0, p99: 0, max: 0 }
        : { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max) };
    if (Date.now() - this.#windowStart >= WINDOW_MS) {
      histogram.reset();
      this.#windowStart = Date.now();
    }
    const running = Math.max(0, this.#running);
    return {
      event_loop_delay_ms: delay,
      pool: {
        running,
        capacity: this.#capacity,
        use: this.#capacity > 0 ? Math.round((running / this.#capacity) * 100) / 100 : 0,
      },
      streams: { clients: this.#streams.clients, dropped: this.#streams.dropped },
      uptime_seconds: Math.round((Date.now() - this.#started) / 1000),
    };
  }

  /** Stops the histogram and the listener. */
  close(): void {
    this.#histogram.disable();
    this.#supervisor.off('task-status', this.#onStatus);
  }
}
