/**
 * The HTTP API end to end: a real server process and a real worker process on this file's own
 * database and BullMQ prefix. Every route's success path and its typed error codes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leaseFence, turnInputDraft } from '../../src/store/drafts.js';
import { startWorkerProcess, waitFor, type WorkerProcess } from '../helpers/processes.js';
import { createRuntimeFixture, type RuntimeFixture } from '../helpers/runtime.js';
import { basic, bearer, PRODUCER_KEY, startServerProcess, type ServerProcess } from '../helpers/server.js';

let f: RuntimeFixture;
let server: ServerProcess;
let worker: WorkerProcess;

beforeAll(async () => {
  f = await createRuntimeFixture();
  // No reconciler in the worker: batches the test writes straight into the store stay unpublished.
  [server, worker] = await Promise.all([
    startServerProcess(f.env({ MAX_ACTIVE_SESSIONS_PER_AGENT: '2' })),
    startWorkerProcess(f.env({ RECONCILE_INTERVAL_MS: '0', DEMO_THINK_MS: '10' })),
  ]);
});

afterAll(async () => {
  await Promise.all([server?.stop(), worker?.stop()]);
  await f?.cleanup();
});

async function call(method: string, path: string, options: { body?: unknown; headers?: Record<string, string>; raw?: string } = {}) {
  const headers: Record<string, string> = { ...bearer, ...options.headers };
  let body: string | undefined = options.raw;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  } else if (options.raw !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(`${server.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, headers: res.headers, json };
}

const policy = (sessionId: string, agentId = 'agent-http') => ({ sessionId, agentId, authorizedTools: ['search'], callBudget: 3, timeLimitMs: 600_000 });

describe('HTTP API', () => {
  it('answers health, readiness and metrics without credentials', async () => {
    expect((await call('GET', '/healthz', { headers: { authorization: '' } })).json).toEqual({ status: 'ok' });
    const ready = await call('GET', '/readyz', { headers: { authorization: '' } });
    expect(ready).toMatchObject({ status: 200, json: { status: 'ready', checks: { postgres: 'ok', redis: 'ok' } } });
    const metrics = await call('GET', '/metrics', { headers: { authorization: '' } });
    for (const name of [
      'turnlane_turns_committed_total',
      'turnlane_turn_duration_seconds',
      'turnlane_enqueue_to_start_seconds',
      'turnlane_commit_duration_seconds',
      'turnlane_claim_duration_seconds',
      'turnlane_lease_takeovers_total',
      'turnlane_commit_conflicts_total',
      'turnlane_stamp_replays_total',
      'turnlane_dead_letters_total',
      'turnlane_reconciler_fixes_total',
      'turnlane_queue_depth',
    ]) {
      expect(metrics.json).toContain(name);
    }
  });

  it('refuses requests without a valid API key and producer keys on operator routes', async () => {
    for (const [method, path] of [
      ['POST', '/v1/sessions'],
      ['GET', '/v1/sessions/x'],
      ['POST', '/v1/sessions/x/inputs'],
      ['POST', '/v1/sessions/x/commands'],
      ['GET', '/v1/sessions/x/queue'],
      ['DELETE', '/v1/sessions/x/batches/y'],
      ['GET', '/v1/sessions/x/events'],
      ['POST', '/v1/sessions/x/close'],
      ['GET', '/v1/dead-letters'],
      ['POST', '/v1/dead-letters/y/requeue'],
    ] as const) {
      const none = await call(method, path, { headers: { authorization: '' } });
      expect(none.status, `${method} ${path}`).toBe(401);
      expect(none.json.error.code).toBe('UNAUTHORIZED');
      expect((await call(method, path, { headers: { authorization: 'Bearer wrong-key' } })).status).toBe(401);
    }
    const producerOnOperator = await call('GET', '/v1/sessions');
    expect(producerOnOperator).toMatchObject({ status: 403, json: { error: { code: 'FORBIDDEN' } } });
    expect(server.output()).not.toContain(PRODUCER_KEY);
  });

  it('creates, reads and closes task sessions with the error codes of spec 04', async () => {
    const created = await call('POST', '/v1/sessions', { body: policy('http-task') });
    expect(created).toMatchObject({ status: 201, json: { sessionId: 'http-task', status: 'active', callBudget: 3, callsMade: 0 } });
    expect((await call('POST', '/v1/sessions', { body: policy('http-task') })).json.error.code).toBe('SESSION_ALREADY_EXISTS');
    expect((await call('POST', '/v1/sessions', { body: policy('http-task') })).status).toBe(409);

    const bad = await call('POST', '/v1/sessions', { body: { ...policy('http-bad'), callBudget: 'lots' } });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatchObject({ code: 'INVALID_INPUT', details: { field: 'body.callBudget' } });
    expect((await call('POST', '/v1/sessions', { body: { ...policy('bad id!') } })).status).toBe(400);

    const read = await call('GET', '/v1/sessions/http-task');
    expect(read).toMatchObject({ status: 200, json: { sessionId: 'http-task', status: 'active', headRevision: 0, queueDepth: 0, lease: null, callBudget: 3 } });
    expect(read.json.policy).toMatchObject({ agentId: 'agent-http', authorizedTools: ['search'] });
    expect(await call('GET', '/v1/sessions/never-seen')).toMatchObject({ status: 404, json: { error: { code: 'SESSION_NOT_FOUND' } } });

    // An input naming another agent is refused (no session fixation).
    const fixation = await call('POST', '/v1/sessions/http-task/inputs', { body: { text: 'hi', agentId: 'intruder' } });
    expect(fixation).toMatchObject({ status: 403, json: { error: { code: 'AGENT_MISMATCH' } } });

    const closed = await call('POST', '/v1/sessions/http-task/close', { body: {} });
    expect(closed).toMatchObject({ status: 200, json: { status: 'closed' } });
    expect(await call('POST', '/v1/sessions/http-task/inputs', { body: { text: 'too late' } })).toMatchObject({ status: 409, json: { error: { code: 'SESSION_CLOSED' } } });
    expect((await call('POST', '/v1/sessions/never-created/close', { body: {} })).status).toBe(404);

    // A session past its time limit: 410.
    await call('POST', '/v1/sessions', { body: { ...policy('http-brief', 'agent-brief'), timeLimitMs: 1 } });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await call('POST', '/v1/sessions/http-brief/inputs', { body: { text: 'hello?' } })).toMatchObject({ status: 410, json: { error: { code: 'SESSION_EXPIRED' } } });

    // The per-agent cap (MAX_ACTIVE_SESSIONS_PER_AGENT=2): 429.
    await call('POST', '/v1/sessions', { body: policy('cap-1', 'agent-cap') });
    await call('POST', '/v1/sessions', { body: policy('cap-2', 'agent-cap') });
    const capped = await call('POST', '/v1/sessions', { body: policy('cap-3', 'agent-cap') });
    expect(capped).toMatchObject({ status: 429, json: { error: { code: 'TOO_MANY_SESSIONS' } } });
  });

  it('enqueues input with Idempotency-Key replay, commands, and runs it on the worker', async () => {
    const first = await call('POST', '/v1/sessions/http-input/inputs', { body: { text: 'hello' }, headers: { 'idempotency-key': 'msg-1' } });
    expect(first).toMatchObject({ status: 202, json: { sessionId: 'http-input', sourceKey: 'msg-1', status: 'queued' } });
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    // Issue 13 item 8: the same key with another body is refused; the identical request is a replay and says so.
    const reused = await call('POST', '/v1/sessions/http-input/inputs', { body: { text: 'hello, changed' }, headers: { 'idempotency-key': 'msg-1' } });
    expect(reused).toMatchObject({ status: 422, json: { error: { code: 'IDEMPOTENCY_KEY_REUSED', details: { sessionId: 'http-input', sourceKey: 'msg-1' } } } });
    const replay = await call('POST', '/v1/sessions/http-input/inputs', { body: { text: 'hello' }, headers: { 'idempotency-key': 'msg-1' } });
    expect(replay.status).toBe(202);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.json.batchId).toBe(first.json.batchId);
    expect(replay.json.items).toEqual(first.json.items);

    const command = await call('POST', '/v1/sessions/http-input/commands', { body: { kind: 'refresh_tool_catalog', reason: 'test' }, headers: { 'idempotency-key': 'cmd-1' } });
    expect(command).toMatchObject({ status: 202, json: { sourceKey: 'command:refresh_tool_catalog:cmd-1' } });
    const commandReused = await call('POST', '/v1/sessions/http-input/commands', { body: { kind: 'refresh_tool_catalog', reason: 'other' }, headers: { 'idempotency-key': 'cmd-1' } });
    expect(commandReused).toMatchObject({ status: 422, json: { error: { code: 'IDEMPOTENCY_KEY_REUSED' } } });
    expect((await call('POST', '/v1/sessions/http-input/commands', { body: { kind: 'explode' } })).status).toBe(400);

    await waitFor(async () => (await call('GET', '/v1/sessions/http-input')).json.headRevision === 2, 10_000, 'both turns to commit');
    const again = await call('POST', '/v1/sessions/http-input/inputs', { body: { text: 'hello' }, headers: { 'idempotency-key': 'msg-1' } });
    expect(again.json).toMatchObject({ batchId: first.json.batchId, status: 'completed' });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect((await f.store.sessions.load('http-input', { kind: 'full_graph' }))!.graph.nodes.filter((n) => n.payload.kind === 'message' && n.payload.role === 'user')).toHaveLength(1);
  });

  it('rejects bad input with typed 4xx answers and keeps serving', async () => {
    const cases = [
      await call('POST', '/v1/sessions/s/inputs', { raw: '{"text": ' }),
      await call('POST', '/v1/sessions/s/inputs', { body: { text: 'x', items: [{ type: 'text', text: 'y' }] } }),
      await call('POST', '/v1/sessions/s/inputs', { body: { text: 'x', deliveryPolicy: 'whenever' } }),
      await call('POST', '/v1/sessions/s/inputs', { body: { text: 'x', surprise: 1 } }),
      await call('POST', '/v1/sessions/s/inputs', { body: [1, 2, 3] }),
      await call('POST', `/v1/sessions/${'x'.repeat(129)}/inputs`, { body: { text: 'x' } }),
      await call('POST', '/v1/sessions/s/inputs', { body: { text: 'x' }, headers: { 'idempotency-key': 'k'.repeat(300) } }),
    ];
    for (const res of cases) {
      expect(res.status).toBe(400);
      expect(typeof res.json.error.code).toBe('string');
      expect(typeof res.json.error.message).toBe('string');
    }
    const huge = await call('POST', '/v1/sessions/s/inputs', { body: { text: 'x'.repeat(1_100_000) } });
    expect(huge).toMatchObject({ status: 413, json: { error: { code: 'PAYLOAD_TOO_LARGE' } } });
    const tooBigBatch = await call('POST', '/v1/sessions/s/inputs', { body: { text: 'x'.repeat(300_000) } });
    expect(tooBigBatch).toMatchObject({ status: 400, json: { error: { code: 'INVALID_INPUT' } } });
    expect(await call('GET', '/v1/nothing-here')).toMatchObject({ status: 404, json: { error: { code: 'NOT_FOUND' } } });
    expect(await f.store.queue.list('s')).toEqual([]);
    expect((await call('GET', '/healthz')).status).toBe(200);
  });

  it('lists the queue and cancels unclaimed batches: 404 when gone, 409 when held', async () => {
    // Written straight into the store: no job, so the worker never claims them.
    const a = await f.store.queue.enqueue(turnInputDraft('http-queue', 'a', 'after_current_turn_commit', 'exclusive'));
    const b = await f.store.queue.enqueue(turnInputDraft('http-queue', 'b', 'after_current_turn_commit', 'exclusive'));
    const lease = await f.store.leases.tryClaim('http-queue', { ownerId: 'test', incarnationId: 'i1' }, 60_000);
    if (lease.kind !== 'acquired') throw new Error('lease busy');
    await f.store.queue.claimReady({ sessionId: 'http-queue', fence: leaseFence(lease.lease), owner: lease.lease.owner, boundary: 'idle', ttlMs: 60_000, maxBatches: 1 });

    const queue = await call('GET', '/v1/sessions/http-queue/queue');
    expect(queue.status).toBe(200);
    expect(queue.json.batches.map((x: { batchId: string; held: boolean }) => [x.batchId, x.held])).toEqual([
      [a.batchId, true],
      [b.batchId, false],
    ]);
    expect(JSON.stringify(queue.json)).not.toContain(lease.lease.leaseToken);
    const view = await call('GET', '/v1/sessions/http-queue');
    expect(view.json).toMatchObject({ queueDepth: 2, heldCount: 1, lease: { ownerId: 'test', live: true } });
    expect(JSON.stringify(view.json)).not.toContain(lease.lease.leaseToken);

    expect(await call('DELETE', `/v1/sessions/http-queue/batches/${a.batchId}`)).toMatchObject({ status: 409, json: { error: { code: 'BATCH_HELD' } } });
    expect(await call('DELETE', `/v1/sessions/http-queue/batches/${b.batchId}`)).toMatchObject({ status: 200, json: { batchId: b.batchId } });
    expect(await call('DELETE', `/v1/sessions/http-queue/batches/${b.batchId}`)).toMatchObject({ status: 404, json: { error: { code: 'BATCH_NOT_FOUND' } } });
  });

  it('lists and requeues dead letters for operators', async () => {
    const batch = await f.store.queue.enqueue(turnInputDraft('http-dead', 'poison', 'after_current_turn_commit', 'exclusive'));
    await f.store.queue.deadLetter('http-dead', batch.batchId, 'boom');
    const list = await call('GET', '/v1/dead-letters?sessionId=http-dead', { headers: basic });
    expect(list).toMatchObject({ status: 200, json: { deadLetters: [{ batchId: batch.batchId, reason: 'boom' }] } });
    expect((await call('GET', '/v1/dead-letters?sessionId=bad%20id', { headers: basic })).status).toBe(400);
    const requeued = await call('POST', `/v1/dead-letters/${batch.batchId}/requeue`, { headers: basic });
    expect(requeued).toMatchObject({ status: 200, json: { batchId: batch.batchId, status: 'queued' } });
    expect(await call('POST', `/v1/dead-letters/${batch.batchId}/requeue`, { headers: basic })).toMatchObject({ status: 404, json: { error: { code: 'DEAD_LETTER_NOT_FOUND' } } });
    // The requeued batch got a job again; the worker runs it.
    await waitFor(async () => (await f.store.queue.list('http-dead')).length === 0, 10_000, 'the requeued batch to run');
  });

  it('streams a commit made by the worker process, then session_closed', async () => {
    await call('POST', '/v1/sessions', { body: policy('http-sse', 'agent-sse') });
    const controller = new AbortController();
    const res = await fetch(`${server.url}/v1/sessions/http-sse/events`, { headers: bearer, signal: controller.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    const events: Array<{ event: string; id?: string; data: any }> = [];
    async function next(name: string): Promise<{ event: string; id?: string; data: any }> {
      for (;;) {
        const found = events.find((e) => e.event === name);
        if (found) return found;
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${name}`);
        buffer += decoder.decode(value, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const fields = Object.fromEntries(block.split('\n').filter((l) => !l.startsWith(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]));
          if (fields.event) events.push({ event: fields.event, id: fields.id, data: JSON.parse(fields.data ?? 'null') });
        }
      }
    }
    expect((await next('ready')).data).toEqual({ sessionId: 'http-sse', headRevision: 0 });
    await call('POST', '/v1/sessions/http-sse/inputs', { body: { text: 'stream me' } });
    const commit = await next('commit');
    expect(commit.id).toBe('1');
    expect(commit.data).toMatchObject({ sessionId: 'http-sse', headRevision: 1 });
    const texts = commit.data.appendedNodes.map((n: any) => n.payload.parts?.[0]?.text);
    expect(texts).toContain('stream me');
    expect(texts).toContain('echo: stream me');
    expect(worker.messages.some((m) => m.type === 'turn' && m.sessionId === 'http-sse')).toBe(true);

    await call('POST', '/v1/sessions/http-sse/close', { body: {} });
    expect((await next('session_closed')).data).toEqual({ sessionId: 'http-sse', status: 'closed' });
    expect((await reader.read()).done).toBe(true);
    controller.abort();
  });
});
