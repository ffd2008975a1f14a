import { spawnSync } from 'node:child_process';

/** What a TCP probe of `host:port` found: nothing (reachable), or why not. */
export type ProbeResult = { reachable: true } | { reachable: false; reason: string };

// Runs in a child process: Node has no synchronous socket, and the constructor that asks must stay synchronous.
const PROBE = `
const net = require('node:net');
const [host, port, ms] = process.argv.slice(1);
const socket = net.connect({ host, port: Number(port) });
const timer = setTimeout(() => { process.stdout.write('no answer within ' + ms + ' ms'); process.exit(2); }, Number(ms));
socket.on('connect', () => { clearTimeout(timer); socket.destroy(); process.exit(0); });
socket.on('error', (error) => { process.stdout.write(error.code || error.message); process.exit(1); });
`;

/**
 * Checks, synchronously, that something accepts TCP connections at `host:port`, within `timeoutMs`. Costs a
 * short-lived child process (about 40 ms), once per supervisor, so that a supervisor pointed at a Redis that is
 * not there fails in its constructor with a clear message instead of later.
 */
export function probeTcp(host: string, port: number, timeoutMs: number): ProbeResult {
  const child = spawnSync(process.execPath, ['-e', PROBE, host, String(port), String(timeoutMs)], {
    encoding: 'utf8',
    timeout: timeoutMs + 2_000,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  if (child.status === 0) return { reachable: true };
  return { reachable: false, reason: child.stdout?.trim() || child.error?.message || 'no answer' };
}
