// The errand dashboard, part 2 of 2: the views (sign-in, the task list, a task's page), cloned from the page's
// <template>s and updated in place; every task's text is set with textContent, never parsed as HTML. Uses the
// state, API and feeds of dashboard-client.js, loaded before it.

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

async function boot() {
  if (document.body.dataset.auth === 'none') {
    const reply = await api('/v1/session');
    if (reply.status === 200) return signedIn(reply.body);
  }
  showLogin();
}

boot();
