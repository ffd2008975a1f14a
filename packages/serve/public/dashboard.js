// The errand dashboard: a small script over the HTTP API, no build step. Views are cloned from the page's
// <template>s; every task's text is set with textContent (never parsed as HTML). The token stays in this
// variable only: nothing is written to storage or cookies, so a reload asks for it again.

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

/** The Steer field and button, and the Cancel button, for one unfinished task. */
function controlsFor(task, root) {
  const box = el('span', { class: 'task-controls' });
  if (TERMINAL.has(task.status)) return box;
  const input = el('input', { type: 'text', 'aria-label': 'Steer', placeholder: 'guidance…' });
  const steer = async () => {
    const message = input.value.trim();
    if (!message) return;
    const reply = await api(`/v1/tasks/${encodeURIComponent(task.task_id)}/steer`, {
      method: 'POST',
      body: { message },
    });
    if (reply.status !== 200) return showError(root, errorText(reply));
    showError(root, '');
    input.value = '';
    const current = state.tasks.get(task.task_id);
    if (current?.steering) current.steering = { ...current.steering, sent: current.steering.sent + 1 };
    await refresh(task.task_id);
  };
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') steer();
  });
  const cancel = async (event) => {
    event.target.disabled = true;
    const reply = await api(`/v1/tasks/${encodeURIComponent(task.task_id)}/cancel`, {
      method: 'POST',
      body: {},
    });
    if (reply.status !== 200) showError(root, errorText(reply));
    await refresh(task.task_id);
  };
  box.append(input, el('button', { type: 'button', text: 'Steer', onclick: steer }));
  box.append(el('button', { type: 'button', class: 'danger', text: 'Cancel', onclick: cancel }));
  return box;
}

// ---- views ----

function mount(templateId) {
  const app = $('#app');
  app.replaceChildren($(`#${templateId}`).content.cloneNode(true));
  return app;
}

function showLogin(message) {
  const root = mount('login-view');
  showError(root, message);
  $('#token', root).focus();
  $('#login', root).addEventListener('submit', async (event) => {
    event.preventDefault();
    state.token = $('#token', root).value.trim();
    const reply = await api('/v1/session');
    if (reply.status === 200) return signedIn(reply.body);
    state.token = null;
    showError(root, reply.status === 401 ? 'That token was not accepted.' : errorText(reply));
  });
}

async function signedIn(session) {
  state.session = session.session;
  $('#who').textContent = `session ${session.session}`;
  window.addEventListener('hashchange', route);
  followEvents();
  pollHost();
  setInterval(pollHost, 2000);
  setInterval(() => {
    if (!state.task) scheduleRender();
  }, 1000);
  await loadTasks();
  route();
}

async function loadTasks() {
  const reply = await api('/v1/tasks');
  if (reply.status !== 200) return;
  for (const row of reply.body.tasks) remember(row);
  // The list rows lack iterations, steering and the last line: fetch those for the latest tasks.
  await Promise.all(
    reply.body.tasks
      .slice(-100)
      .map((row) => api(`/v1/tasks/${encodeURIComponent(row.task_id)}?preview_lines=1`))
      .map((pending) => pending.then((one) => one.status === 200 && remember(one.body))),
  );
  scheduleRender();
}

function route() {
  state.task?.abort.abort();
  state.task = null;
  const match = /^#\/tasks\/(.+)$/.exec(location.hash);
  if (match) showTask(decodeURIComponent(match[1]));
  else showList();
}

function showList() {
  const root = mount('list-view');
  const filter = $('#filter', root);
  filter.value = state.filter;
  filter.addEventListener('change', () => {
    state.filter = filter.value;
    render();
  });
  $('#delegate', root).addEventListener('submit', async (event) => {
    event.preventDefault();
    const goal = $('#goal', root).value.trim();
    if (!goal) return;
    const button = $('#delegate button', root);
    button.disabled = true;
    const reply = await api('/v1/tasks', { method: 'POST', body: { goal } });
    button.disabled = false;
    if (reply.status !== 201) return showError(root, errorText(reply));
    showError(root, '');
    $('#goal', root).value = '';
    remember({ ...reply.body, goal, elapsed_seconds: 0, iterations: 0, steering: { sent: 0, delivered: 0 } });
    await refresh(reply.body.task_id);
  });
  render();
}

/** The rows of each mounted list, by task id. */
const rowsByBody = new WeakMap();

function renderList() {
  const body = $('#tasks');
  if (!body) return;
  // Rows are kept per task and updated in place, never rebuilt while the task lives: a row being typed in or
  // clicked stays the same element (a rebuilt button between mousedown and mouseup would lose the click).
  if (!rowsByBody.has(body)) rowsByBody.set(body, new Map());
  const known = rowsByBody.get(body);
  const all = [...state.tasks.values()];
  const shown = all.filter((task) => !state.filter || task.status === state.filter).reverse();
  const rows = shown.map((task) => {
    let row = known.get(task.task_id);
    if (!row) {
      row = el('tr', { 'data-task-id': task.task_id });
      const link = el('a', {
        href: `#/tasks/${encodeURIComponent(task.task_id)}`,
        text: task.goal ?? task.task_id,
      });
      row.append(
        el('td', { class: 'goal' }, link),
        el('td', {}, el('span', { class: 'status' })),
        el('td', { class: 'num iterations' }),
        el('td', { class: 'num elapsed' }),
        el('td', { class: 'steering' }),
        el('td', { class: 'last-line' }),
        el('td', { class: 'actions' }),
      );
      known.set(task.task_id, row);
    }
    updateRowCells(row, task);
    const finished = String(TERMINAL.has(task.status));
    if (row.dataset.finished !== finished) {
      row.dataset.finished = finished;
      $('.actions', row).replaceChildren(controlsFor(task, $('#app')));
    }
    return row;
  });
  const current = [...body.children];
  if (current.length !== rows.length || rows.some((row, index) => current[index] !== row))
    body.replaceChildren(...rows);
  $('#empty').hidden = shown.length > 0;
  const running = all.filter((task) => task.status === 'running').length;
  $('#counts').textContent = `${all.length} tasks, ${running} running`;
}

function updateRowCells(row, task) {
  $('.status', row).textContent = task.status;
  $('.status', row).className = `status status-${task.status}`;
  $('.iterations', row).textContent = String(task.iterations ?? '');
  $('.elapsed', row).textContent = formatSeconds(elapsedOf(task));
  $('.steering', row).textContent = steeringText(task);
  $('.last-line', row).textContent = task.last_line ?? '';
}

function showTask(taskId) {
  const root = mount('task-view');
  const abort = new AbortController();
  state.task = { id: taskId, abort, lines: [], lastIndex: undefined, ended: false };
  $('#task-goal', root).textContent = taskId;
  refresh(taskId);
  followOutput(state.task);
}

function renderTask() {
  const view = state.task;
  const task = view && state.tasks.get(view.id);
  if (!task) return;
  const root = $('#app');
  $('#task-goal', root).textContent = task.goal ?? task.task_id;
  const facts = [
    ['Status', task.status],
    ['Task', task.task_id],
    ['Iterations', String(task.iterations ?? 0)],
    ['Elapsed', formatSeconds(elapsedOf(task))],
    ['Steering', steeringText(task)],
  ];
  const timings = task.timings ?? {};
  for (const [label, key] of [
    ['Created', 'created_at'],
    ['Started', 'started_at'],
    ['Ended', 'ended_at'],
  ]) {
    if (timings[key]) facts.push([label, new Date(timings[key]).toLocaleString()]);
  }
  if (task.output_lines !== undefined)
    facts.push(['Output lines', `${task.output_lines} (${task.dropped_lines ?? 0} no longer kept)`]);
  $('#task-facts', root).replaceChildren(
    ...facts.flatMap(([label, value]) => [
      el('dt', { text: label }),
      el('dd', label === 'Status' ? { class: `status status-${value}`, text: value } : { text: value }),
    ]),
  );
  // Built once, and again only when the task finishes (the buttons go): see renderList.
  const controls = $('.controls', root);
  const finished = String(TERMINAL.has(task.status));
  if (controls.dataset.finished !== finished) {
    controls.dataset.finished = finished;
    controls.replaceChildren(controlsFor(task, root));
  }
  // The output follows its tail unless the reader scrolled up.
  const output = $('#task-output', root);
  const atBottom = output.scrollHeight - output.scrollTop - output.clientHeight < 40;
  output.textContent = view.lines.join('\n');
  if (atBottom) output.scrollTop = output.scrollHeight;
  $('#task-error-card', root).hidden = !task.error;
  $('#task-error', root).textContent = task.error ? `${task.error.code}: ${task.error.message}` : '';
  const result = $('#task-result', root);
  if (task.result !== undefined) {
    result.textContent = task.result;
    result.className = '';
  }
}

function render() {
  if (state.task) renderTask();
  else renderList();
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

async function boot() {
  if (document.body.dataset.auth === 'none') {
    const reply = await api('/v1/session');
    if (reply.status === 200) return signedIn(reply.body);
  }
  showLogin();
}

boot();
