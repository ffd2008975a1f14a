import { readFileSync } from 'node:fs';
import { TASK_STATUSES } from '@errand/core';
import type { Hono } from 'hono';
import type { ApiEnv } from './api-routes.js';

/** The dashboard's static files, read once from the package's `public/` folder (no build step). */
const asset = (name: string) => readFileSync(new URL(`../public/${name}`, import.meta.url), 'utf8');

/** Headers of every dashboard response: no inline script, nothing from elsewhere, never framed. */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
} as const;

/**
 * The page shell, rendered on the server. The token field is a text box masked by CSS rather than a password
 * input, so it keeps the `textbox` role (a password input has none) and browsers do not offer to save it.
 * The views are `<template>`s the script clones, so a view that is not
 * shown is not in the document at all (one "Steer" field per task on screen, never a hidden copy).
 */
function page(open: boolean): string {
  const options = ['', ...TASK_STATUSES]
    .map((status) => `<option value="${status}">${status || 'all'}</option>`)
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>errand</title>
<link rel="stylesheet" href="/dashboard.css">
<script src="/dashboard-client.js" defer></script>
<script src="/dashboard.js" defer></script>
</head>
<body data-auth="${open ? 'none' : 'token'}">
<header class="top"><h1>errand</h1><p id="who" class="muted"></p><p id="host" class="muted" aria-live="off"></p></header>
<main id="app"><p class="muted">Loading…</p></main>
<noscript><p>The dashboard needs JavaScript. The API is described at <a href="/openapi.json">/openapi.json</a>.</p></noscript>

<template id="login-view">
<form id="login" class="card narrow">
<p class="muted">Paste the access key this server's configuration gives you; it stays in this tab's memory only.</p>
<label for="token">Token</label>
<input id="token" name="token" type="text" class="secret" autocomplete="off" autocapitalize="off" spellcheck="false" required>
<button type="submit">Sign in</button>
<p class="error" role="alert"></p>
</form>
</template>

<template id="list-view">
<section class="card">
<form id="delegate" class="row-form">
<label for="goal">Goal</label>
<textarea id="goal" name="goal" rows="2" required placeholder="What should the agent do?"></textarea>
<button type="submit">Delegate</button>
</form>
<p class="error" role="alert"></p>
</section>
<section class="card">
<div class="toolbar"><h2>Tasks</h2>
<label for="filter">Status</label>
<select id="filter">${options}</select>
<span id="counts" class="muted"></span></div>
<table>
<thead><tr><th scope="col">Goal</th><th scope="col">Status</th><th scope="col">Iterations</th><th scope="col">Elapsed</th><th scope="col">Steering</th><th scope="col">Last line</th><th scope="col">Actions</th></tr></thead>
<tbody id="tasks"></tbody>
</table>
<p id="empty" class="muted">No tasks yet.</p>
</section>
</template>

<template id="task-view">
<p><a href="#/">← All tasks</a></p>
<section class="card">
<h2 id="task-goal"></h2>
<dl id="task-facts" class="facts"></dl>
<div class="controls"></div>
<p class="error" role="alert"></p>
</section>
<section class="card"><h3>Output</h3><pre id="task-output" class="output" aria-live="off"></pre></section>
<section class="card" id="task-error-card" hidden><h3>Error</h3><pre id="task-error"></pre></section>
<section class="card"><h3>Result</h3><pre id="task-result" class="muted">(not yet)</pre></section>
</template>
</body>
</html>
`;
}

/** `/` (the page), its two scripts and its stylesheet. */
export function registerDashboardRoutes(app: Hono<ApiEnv>, options: { open: boolean }): void {
  const html = page(options.open);
  const scripts = {
    '/dashboard-client.js': asset('dashboard-client.js'),
    '/dashboard.js': asset('dashboard.js'),
  };
  const style = asset('dashboard.css');
  app.get('/', (c) =>
    c.body(html, 200, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-cache',
      ...SECURITY_HEADERS,
    }),
  );
  for (const [path, script] of Object.entries(scripts)) {
    app.get(path, (c) =>
      c.body(script, 200, {
        'content-type': 'text/javascript; charset=utf-8',
        'cache-control': 'no-cache',
        ...SECURITY_HEADERS,
      }),
    );
  }
  app.get('/dashboard.css', (c) =>
    c.body(style, 200, {
      'content-type': 'text/css; charset=utf-8',
      'cache-control': 'no-cache',
      ...SECURITY_HEADERS,
    }),
  );
}
