// The errand dashboard's client side, part 1 of 2: state, the API and Server-Sent Events over fetch, and the live
// feeds. Loaded before dashboard.js (both classic scripts, `defer`, sharing the page's global scope). The token
// stays in `state.token` only: nothing is written to storage or cookies, so a reload asks for it again.

const TERMINAL = new Set(['completed', 'failed', 'cancelled', 'timed_out', 'interrupted']);
const MAX_OUTPUT_LINES = 500;

const state = {
  token: null,
  session: null,
  /** task_id → the latest check shape seen, plus last_line and when it arrived. */
  tasks: new Map(),
  filter: '',
  /** Steering sent from this page and not yet seen delivered, per task. */
  events: null,
  task: null,
  renderQueued: false,
};

const $ = (selector, root = document) => root.querySelector(selector);

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === 'text') node.textContent = value;
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function headers(extra = {}) {
  return state.token ? { authorization: `Bearer ${state.token}`, ...extra } : extra;
}

/** A JSON API call: resolves to { status, body } and never throws for an HTTP error. */
async function api(path, { method = 'GET', body } = {}) {
  const response = await fetch(path, {
    method,
    headers: headers(body === undefined ? {} : { 'content-type': 'application/json' }),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let parsed = null;
  try {
    parsed = await response.json();
  } catch {}
  return { status: response.status, body: parsed };
}

/**
 * Reads a Server-Sent Events response with fetch (EventSource cannot send an Authorization header), calling
 * onEvent(event, data, id) for each frame. Resolves when the stream ends.
 */
async function readEvents(path, { signal, lastEventId, onEvent }) {
  const extra = lastEventId === undefined ? {} : { 'last-event-id': String(lastEventId) };
  const response = await fetch(path, { headers: headers(extra), signal });
  if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end = buffer.indexOf('\n\n');
    while (end !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event;
      let data = '';
      let id;
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
        else if (line.startsWith('id: ')) id = Number(line.slice(4));
      }
      if (event) onEvent(event, data ? JSON.parse(data) : null, id);
      end = buffer.indexOf('\n\n');
    }
  }
}

function formatSeconds(seconds) {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds % 60)} s`;
}

function elapsedOf(task) {
  if (TERMINAL.has(task.status)) return task.elapsed_seconds;
  return task.elapsed_seconds + (Date.now() - task.seenAt) / 1000;
}

function steeringText(task) {
  const steering = task.steering;
  if (!steering || steering.sent === 0) return '—';
  if (steering.delivered >= steering.sent) return `delivered (${steering.delivered})`;
  return `queued (${steering.sent - steering.delivered} of ${steering.sent})`;
}

function remember(reply) {
  const known = state.tasks.get(reply.task_id) ?? {};
  const task = { ...known, ...reply, seenAt: Date.now() };
  if (reply.output_preview !== undefined && reply.output_preview !== '')
    task.last_line = reply.output_preview.split('\n').at(-1);
  state.tasks.set(reply.task_id, task);
  return task;
}

async function refresh(taskId) {
  const { status, body } = await api(`/v1/tasks/${encodeURIComponent(taskId)}?preview_lines=1`);
  if (status === 200) remember(body);
  scheduleRender();
}

function scheduleRender() {
  if (state.renderQueued) return;
  state.renderQueued = true;
  requestAnimationFrame(() => {
    state.renderQueued = false;
    render();
  });
}

function showError(root, text) {
  const alert = $('.error', root);
  if (alert) alert.textContent = text ?? '';
}

function errorText(reply) {
  return reply.body?.error?.message ?? `the server answered ${reply.status}`;
}

// ---- live feeds ----

/** The task's output: the buffered tail, then live lines; on a dropped connection, resumes after the last line. */
async function followOutput(view) {
  while (!view.ended && !view.abort.signal.aborted) {
    try {
      await readEvents(`/v1/tasks/${encodeURIComponent(view.id)}/stream`, {
        signal: view.abort.signal,
        lastEventId: view.lastIndex,
        onEvent(event, data) {
          if (event === 'line') {
            view.lines.push(data.text);
            if (view.lines.length > MAX_OUTPUT_LINES)
              view.lines.splice(0, view.lines.length - MAX_OUTPUT_LINES);
            view.lastIndex = data.index;
          } else if (event === 'end') {
            view.ended = true;
            if (data?.task_id) refresh(data.task_id);
          } else if (event === 'shutdown') view.ended = true;
          scheduleRender();
        },
      });
    } catch {
      if (view.abort.signal.aborted) return;
    }
    if (!view.ended) await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

/** This session's events; reconnects (and reloads the list) when the connection drops. */
async function followEvents() {
  for (;;) {
    try {
      await readEvents('/v1/events', {
        onEvent(event, data) {
          if (event === 'task-start' || event === 'task-end') remember(data);
          else if (event === 'task-output') {
            const task = state.tasks.get(data.task_id);
            if (task) {
              task.output_lines = data.output_lines;
              task.iterations = data.iterations;
              if (data.last_line) task.last_line = data.last_line;
            } else refresh(data.task_id);
          } else if (event === 'steer-delivered') refresh(data.task_id);
          else if (event === 'shutdown') $('#host').textContent = 'The server is shutting down.';
          scheduleRender();
        },
      });
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await loadTasks().catch(() => {});
  }
}

async function pollHost() {
  try {
    const { status, body } = await api('/v1/host');
    if (status !== 200) return;
    const delay = body.event_loop_delay_ms;
    const pool = body.pool;
    $('#host').textContent =
      `event loop p99 ${delay.p99} ms · pool ${pool.running}/${pool.capacity} running (${Math.round(pool.use * 100)}%) · ` +
      `${body.streams.clients} streams`;
  } catch {}
}
