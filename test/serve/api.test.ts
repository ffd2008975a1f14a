/**
 * The HTTP API over real loopback HTTP, real worker threads and the serve fixture model: every route, every
 * error status, auth and session isolation, body limits, CORS, the OpenAPI document.
 */
import { replySchemas, TASK_STATUSES } from '@errand/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type Api, closeServers, startTestServer, TOKENS } from './serve-helpers.js';

afterEach(closeServers);

/** Delegates and waits for the task to end (collect), returning its id. */
async function finished(api: Api, goal: string): Promise<string> {
  const created = await api('/v1/tasks', { body: { goal } });
  expect(created.status).toBe(201);
  const done = await api(`/v1/tasks/${created.body.task_id}/collect`, { body: { timeout_seconds: 30 } });
  expect(done.body.timed_out).toBe(false);
  return created.body.task_id;
}

describe('routes', () => {
  it('POST /v1/tasks delegates: 201, { task_id, status, … } in the tool shape, Location', async () => {
    const { api } = await startTestServer();
    const created = await api('/v1/tasks', { body: { goal: 'quick hello', max_iterations: 3 } });
    expect(created.status).toBe(201);
    expect(replySchemas.delegate.parse(created.body)).toBeTruthy();
    expect(created.body).toMatchObject({
      task_id: expect.any(String),
      status: expect.stringMatching(/queued|running/),
    });
    expect(created.headers.get('location')).toBe(`/v1/tasks/${created.body.task_id}`);
  });

  it('GET /v1/tasks/:id is the check_task shape (plus timings); ?preview_lines= picks the tail', async () => {
    const { api } = await startTestServer();
    const id = await finished(api, 'lines 12');
    const checked = await api(`/v1/tasks/${id}?preview_lines=3`);
    expect(checked.status).toBe(200);
    expect(replySchemas.check.parse(checked.body)).toBeTruthy();
    expect(checked.body).toMatchObject({
      task_id: id,
      status: 'completed',
      goal: 'lines 12',
      output_preview: 'line 10\nline 11\nline 12',
      output_lines: 12,
      steering: { sent: 0, delivered: 0 },
    });
    expect(Date.parse(checked.body.timings.created_at)).toBeGreaterThan(0);
    expect(Date.parse(checked.body.timings.ended_at)).toBeGreaterThanOrEqual(
      Date.parse(checked.body.timings.started_at),
    );
  });

  it('GET /v1/tasks lists { tasks, counts }, and ?status= filters', async () => {
    const { api } = await startTestServer();
    const done = await finished(api, 'quick one');
    const working = (await api('/v1/tasks', { body: { goal: 'work on' } })).body.task_id;
    const all = await api('/v1/tasks');
    expect(all.status).toBe(200);
    expect(replySchemas.list.parse(all.body)).toBeTruthy();
    expect(all.body.tasks.map((task: { task_id: string }) => task.task_id)).toEqual([done, working]);
    expect(all.body.counts).toMatchObject({ completed: 1, total: 2 });
    const completed = await api('/v1/tasks?status=completed');
    expect(completed.body.tasks.map((task: { task_id: string }) => task.task_id)).toEqual([done]);
    expect(completed.body.counts.total).toBe(2);
  });

  it('POST /v1/tasks/:id/collect is the collect_task shape; timeout_seconds 0 answers at once', async () => {
    const { api } = await startTestServer();
    const working = (await api('/v1/tasks', { body: { goal: 'work for a while' } })).body.task_id;
    const now = await api(`/v1/tasks/${working}/collect`, { body: { timeout_seconds: 0 } });
    expect(now.status).toBe(200);
    expect(replySchemas.collect.parse(now.body)).toBeTruthy();
    expect(now.body).toMatchObject({ task_id: working, timed_out: true, result: null });
    const done = await api(`/v1/tasks/${await finished(api, 'quick answer')}/collect`, { raw: '' });
    expect(done.body).toMatchObject({ status: 'completed', timed_out: false, result: 'done: quick answer' });
  });

  it('POST /v1/tasks/:id/steer queues guidance that the agent reads (steering.delivered rises)', async () => {
    const { api } = await startTestServer();
    const id = (await api('/v1/tasks', { body: { goal: 'work until told' } })).body.task_id;
    const steered = await api(`/v1/tasks/${id}/steer`, { body: { message: 'finish up now' } });
    expect(steered.status).toBe(200);
    expect(steered.body).toEqual({ ok: true, task_id: id, seq: 1, delivery: 'queued' });
    const done = await api(`/v1/tasks/${id}/collect`, { body: { timeout_seconds: 30 } });
    expect(done.body).toMatchObject({ status: 'completed', result: 'finished: finish up now' });
    expect((await api(`/v1/tasks/${id}`)).body.steering).toEqual({ sent: 1, delivered: 1 });
  });

  it('POST /v1/tasks/:id/cancel answers { ok, task_id, status: "cancelled", result }', async () => {
    const { api } = await startTestServer();
    const id = (await api('/v1/tasks', { body: { goal: 'work forever' } })).body.task_id;
    const cancelled = await api(`/v1/tasks/${id}/cancel`, { body: { reason: 'enough' } });
    expect(cancelled.status).toBe(200);
    expect(replySchemas.cancel.parse(cancelled.body)).toBeTruthy();
    expect(cancelled.body).toMatchObject({ ok: true, task_id: id, status: 'cancelled' });
    expect(cancelled.body).toHaveProperty('result');
    // The task's own error is data in a 200 reply, not an HTTP error.
    const checked = await api(`/v1/tasks/${id}`);
    expect(checked.status).toBe(200);
    expect(checked.body).toMatchObject({ status: 'cancelled', error: { code: 'cancelled' } });
    const collected = await api(`/v1/tasks/${id}/collect`, { body: { timeout_seconds: 0 } });
    expect(collected.status).toBe(200);
    expect(collected.body).toMatchObject({
      status: 'cancelled',
      timed_out: false,
      error: { code: 'cancelled' },
    });
  });

  it('POST /v1/tasks with resume_task_id resumes a stopped task from its checkpoint', async () => {
    const { api } = await startTestServer();
    const id = (await api('/v1/tasks', { body: { goal: 'work, then stop' } })).body.task_id;
    // Let it complete an iteration (its checkpoint goes out before the next model call) before stopping it.
    while ((await api(`/v1/tasks/${id}`)).body.iterations < 2)
      await api(`/v1/tasks/${id}/collect`, { body: { timeout_seconds: 0.1 } });
    await api(`/v1/tasks/${id}/cancel`, { raw: '' });
    const resumed = await api('/v1/tasks', { body: { resume_task_id: id } });
    expect(resumed.status, JSON.stringify(resumed.body)).toBe(201);
    expect(resumed.body).toMatchObject({ resumed_from: id });
    expect(resumed.body.task_id).not.toBe(id);
  });

  it('GET /openapi.json is an OpenAPI 3.1 document built from the tool schemas, served without a token', async () => {
    const { api } = await startTestServer();
    const document = await api('/openapi.json', { token: null });
    expect(document.status).toBe(200);
    expect(document.body.openapi).toBe('3.1.0');
    expect(Object.keys(document.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/tasks',
        '/v1/tasks/{id}',
        '/v1/tasks/{id}/collect',
        '/v1/tasks/{id}/steer',
        '/v1/tasks/{id}/cancel',
        '/v1/tasks/{id}/stream',
        '/v1/events',
      ]),
    );
    const delegate = document.body.components.schemas.DelegateInput;
    expect(Object.keys(delegate.properties)).toEqual(
      expect.arrayContaining(['goal', 'context', 'max_iterations', 'timeout_seconds', 'resume_task_id']),
    );
    expect(delegate.additionalProperties).toBe(false);
    expect(document.body.paths['/v1/tasks'].get.parameters[0].schema.enum).toEqual([...TASK_STATUSES]);
  });

  it('GET /v1/session and /v1/host describe the caller and the host', async () => {
    const { api } = await startTestServer({ capacity: 2 });
    expect((await api('/v1/session')).body).toEqual({ session: 's1', sessions: ['s1'], auth: 'token' });
    const host = await api('/v1/host');
    expect(host.status).toBe(200);
    expect(host.body.pool).toMatchObject({ capacity: 2, running: expect.any(Number) });
    expect(host.body.event_loop_delay_ms.p99).toEqual(expect.any(Number));
  });

  it('unknown routes are 404 not_found in the error shape', async () => {
    const { api } = await startTestServer();
    const missing = await api('/v1/nothing-here');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');
  });
});

describe('error statuses', () => {
  it('400 invalid_input: bad JSON, a non-object body, a bad field, an unknown key, a bad query', async () => {
    const { api } = await startTestServer();
    const cases = [
      await api('/v1/tasks', { raw: '{"goal": ', headers: { 'content-type': 'application/json' } }),
      await api('/v1/tasks', { body: ['goal'] }),
      await api('/v1/tasks', { body: { goal: 'quick x', max_iterations: 0 } }),
      await api('/v1/tasks', { body: { goal: 'quick x', gaol: 'typo' } }),
      await api('/v1/tasks', { body: {} }),
      await api('/v1/tasks?status=sleeping'),
      await api('/v1/tasks/whatever?preview_lines=ten'),
    ];
    for (const reply of cases) {
      expect(reply.status).toBe(400);
      expect(reply.body).toEqual({ error: { code: 'invalid_input', message: expect.any(String) } });
    }
    expect(cases[2]!.body.error.message).toMatch(/max_iterations must be an integer from 1 to \d+, got 0/);
    expect(cases[3]!.body.error.message).toContain('gaol');
    expect(cases[6]!.body.error.message).toContain('"ten" (string)');
  });

  it('404 not_found for an unknown task on every task route', async () => {
    const { api, server } = await startTestServer();
    const routes: [string, string][] = [
      ['GET', '/v1/tasks/nope'],
      ['POST', '/v1/tasks/nope/collect'],
      ['POST', '/v1/tasks/nope/steer'],
      ['POST', '/v1/tasks/nope/cancel'],
      ['GET', '/v1/tasks/nope/stream'],
    ];
    for (const [method, path] of routes) {
      const body = path.endsWith('/steer') ? { message: 'hi' } : {};
      const reply = await api(path, { method, ...(method === 'POST' ? { body } : {}) });
      expect(reply.status, `${method} ${path}`).toBe(404);
      expect(reply.body.error.code).toBe('not_found');
    }
    expect(server.app.stats.clients).toBe(0);
  });

  it('409 task_finished for steering or cancelling a finished task', async () => {
    const { api } = await startTestServer();
    const id = await finished(api, 'quick done');
    const steer = await api(`/v1/tasks/${id}/steer`, { body: { message: 'too late' } });
    expect(steer.status).toBe(409);
    expect(steer.body.error.code).toBe('task_finished');
    const cancel = await api(`/v1/tasks/${id}/cancel`, { raw: '' });
    expect(cancel.status).toBe(409);
    expect(cancel.body).toMatchObject({ error: { code: 'task_finished' }, status: 'completed' });
  });

  it('429 limit_exceeded when the session has its most unfinished tasks', async () => {
    const { api } = await startTestServer({}, { limits: { maxTasksPerSession: 1 } });
    expect((await api('/v1/tasks', { body: { goal: 'work one' } })).status).toBe(201);
    const refused = await api('/v1/tasks', { body: { goal: 'work two' } });
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('limit_exceeded');
    // Another session has its own count.
    const other = await api('/v1/tasks', { body: { goal: 'work three' }, token: TOKENS[1]!.token });
    expect(other.status).toBe(201);
  });

  it('503 shutting_down once the supervisor closes, and once the server begins to shut down', async () => {
    const { api, supervisor, server } = await startTestServer();
    await supervisor.close({ graceMs: 100 });
    const refused = await api('/v1/tasks', { body: { goal: 'quick late' } });
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('shutting_down');
    server.app.beginShutdown();
    const listed = await api('/v1/tasks');
    expect(listed.status).toBe(503);
    expect(listed.body.error.code).toBe('shutting_down');
  });

  it('413 payload_too_large for a body over maxBodyBytes, before it is parsed', async () => {
    const { api } = await startTestServer({ maxBodyBytes: 4_096 });
    const big = await api('/v1/tasks', { body: { goal: `quick ${'x'.repeat(5_000)}` } });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('payload_too_large');
    const steer = await api('/v1/tasks/any/steer', { raw: 'y'.repeat(10_000) });
    expect(steer.status).toBe(413);
    expect((await api('/v1/tasks', { body: { goal: 'quick small' } })).status).toBe(201);
  });
});

describe('auth and sessions', () => {
  it('401 unauthorized with the error shape for a missing, malformed or wrong token', async () => {
    const { api } = await startTestServer();
    const attempts = [
      await api('/v1/tasks', { token: null }),
      await api('/v1/tasks', { token: null, headers: { authorization: 'Basic dXNlcjpwYXNz' } }),
      await api('/v1/tasks', { token: 'token-for-s3' }),
      await api('/v1/tasks', { token: `${TOKENS[0]!.token}x` }),
      await api('/v1/events', { token: null }),
      await api('/v1/tasks', { token: null, body: { goal: 'quick sneaky' } }),
    ];
    for (const reply of attempts) {
      expect(reply.status).toBe(401);
      expect(reply.body).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
      expect(reply.headers.get('www-authenticate')).toBe('Bearer');
    }
  });

  it("another session's token sees none of its tasks: 404 on every route, absent from the list", async () => {
    const { api } = await startTestServer();
    const mine = await finished(api, 'quick mine');
    const running = (await api('/v1/tasks', { body: { goal: 'work mine' } })).body.task_id;
    const other = TOKENS[1]!.token;
    for (const id of [mine, running]) {
      expect((await api(`/v1/tasks/${id}`, { token: other })).status).toBe(404);
      expect((await api(`/v1/tasks/${id}/collect`, { token: other, raw: '' })).status).toBe(404);
      expect((await api(`/v1/tasks/${id}/steer`, { token: other, body: { message: 'x' } })).status).toBe(404);
      expect((await api(`/v1/tasks/${id}/cancel`, { token: other, raw: '' })).status).toBe(404);
      expect((await api(`/v1/tasks/${id}/stream`, { token: other })).status).toBe(404);
      expect((await api('/v1/tasks', { body: { resume_task_id: id }, token: other })).status).toBe(404);
    }
    expect((await api('/v1/tasks', { token: other })).body).toMatchObject({
      tasks: [],
      counts: { total: 0 },
    });
    expect((await api(`/v1/tasks/${running}`)).body.status).not.toBe('cancelled');
  });

  it('tokenEnv and tokenSha256 work like token; a token bound to several sessions picks one per request', async () => {
    const { createHash } = await import('node:crypto');
    const { api } = await startTestServer({
      env: { SERVE_TEST_TOKEN: 'from-the-environment' },
      tokens: [
        { tokenEnv: 'SERVE_TEST_TOKEN', session: 'env-session' },
        {
          tokenSha256: createHash('sha256').update('hashed-token').digest('hex'),
          sessions: ['team-a', 'team-b'],
        },
      ],
    });
    expect((await api('/v1/session', { token: 'from-the-environment' })).body.session).toBe('env-session');
    expect((await api('/v1/session', { token: 'hashed-token' })).body).toMatchObject({
      session: 'team-a',
      sessions: ['team-a', 'team-b'],
    });
    const inB = await api('/v1/tasks', {
      token: 'hashed-token',
      headers: { 'x-errand-session': 'team-b' },
      body: { goal: 'quick b' },
    });
    expect(inB.status).toBe(201);
    expect((await api(`/v1/tasks/${inB.body.task_id}`, { token: 'hashed-token' })).status).toBe(404);
    const notMine = await api('/v1/tasks', {
      token: 'from-the-environment',
      headers: { 'x-errand-session': 'team-b' },
    });
    expect(notMine.status).toBe(404);
  });

  it('with no tokens, loopback is open and acts in the anonymous session; a non-loopback host is refused', async () => {
    const { api } = await startTestServer({ tokens: [], anonymousSession: 'local' });
    expect((await api('/v1/session', { token: null })).body).toEqual({
      session: 'local',
      sessions: ['local'],
      auth: 'none',
    });
    await expect(startTestServer({ tokens: [], host: '0.0.0.0' })).rejects.toThrow(
      /not a loopback address and no tokens are configured/,
    );
  });

  it('CORS is off unless configured; configured origins get the headers, preflight included', async () => {
    const off = await startTestServer();
    const plain = await off.api('/v1/tasks', { headers: { origin: 'https://app.example' } });
    expect(plain.headers.get('access-control-allow-origin')).toBeNull();
    const on = await startTestServer({ cors: { origins: ['https://app.example'] } });
    const allowed = await on.api('/v1/tasks', { headers: { origin: 'https://app.example' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example');
    const preflight = await fetch(`${on.server.url}/v1/tasks`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(preflight.status).toBeLessThan(300);
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
    const other = await on.api('/v1/tasks', { headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).not.toBe('https://evil.example');
  });
});
