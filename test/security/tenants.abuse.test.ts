/**
 * Issue 14, finding 1 ("no tenant isolation"), reproduced against a real server process on
 * 127.0.0.1 with store API keys of two tenants: each attack of the report now answers 404 (as a
 * missing session does) or is refused, and changes nothing of the victim's.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiKeyRole, SessionNode } from '../../src/store/contract.js';
import { leaseFence } from '../../src/store/drafts.js';
import { createRuntimeFixture, type RuntimeFixture } from '../helpers/runtime.js';
import { PRODUCER_KEY, startServerProcess, type ServerProcess } from '../helpers/server.js';

const KEYS = {
  victim: 'tlk_victim-key-0000000000000000000000000000',
  attacker: 'tlk_attacker-key-00000000000000000000000000',
  reader: 'tlk_read-only-operator-key-000000000000000',
  operator: 'tlk_operator-key-0000000000000000000000000',
  bound: 'tlk_victim-agent-bound-key-00000000000000',
  revoked: 'tlk_revoked-key-000000000000000000000000000',
} as const;
type Who = keyof typeof KEYS | 'environment';

let f: RuntimeFixture;
let server: ServerProcess;

async function addKey(keyId: string, key: string, tenantId: string, role: ApiKeyRole, agentIds?: string[]) {
  await f.store.apiKeys.create({ keyId, keySha256: createHash('sha256').update(key).digest('hex'), tenantId, role, ...(agentIds ? { agentIds } : {}) });
}

beforeAll(async () => {
  f = await createRuntimeFixture();
  await addKey('victim', KEYS.victim, 'victim', 'producer');
  await addKey('attacker', KEYS.attacker, 'attacker', 'producer');
  await addKey('reader', KEYS.reader, 'ops', 'read_only');
  await addKey('operator', KEYS.operator, 'ops', 'operator');
  await addKey('bound', KEYS.bound, 'victim', 'producer', ['agent-v']);
  await addKey('revoked', KEYS.revoked, 'victim', 'producer');
  await f.store.apiKeys.revoke('revoked');
  // No worker: every batch stays where the test can see it.
  server = await startServerProcess(f.env({ MAX_ACTIVE_SESSIONS_PER_AGENT: '2' }));
});

afterAll(async () => {
  await server?.stop();
  await f?.cleanup();
});

async function call(who: Who, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const key = who === 'environment' ? PRODUCER_KEY : KEYS[who];
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json: any = text;
  try {
    json = JSON.parse(text);
  } catch {
    // an event stream or HTML
  }
  return { status: res.status, json, text };
}

const notFound = (sessionId: string) => ({ error: { code: 'SESSION_NOT_FOUND', message: `no session ${sessionId}`, details: { sessionId } } });
const task = (sessionId: string | undefined, agentId: string, extra: Record<string, unknown> = {}) => ({
  ...(sessionId ? { sessionId } : {}),
  agentId,
  authorizedTools: ['search'],
  callBudget: 5,
  timeLimitMs: 600_000,
  ...extra,
});

async function queuedTexts(sessionId: string): Promise<string[]> {
  return (await f.store.queue.list(sessionId)).map((b) => {
    const p = b.items[0]!.payload;
    return p.type === 'turn_input' ? (p.input.items[0] as { text: string }).text : p.type;
  });
}

describe('tenant isolation (issue 14, finding 1)', () => {
  it('refuses revoked and unknown keys', async () => {
    expect((await call('revoked', 'GET', '/v1/sessions/anything')).status).toBe(401);
    expect((await call('victim', 'GET', '/v1/sessions/anything', undefined, { authorization: 'Bearer tlk_made-up' })).status).toBe(401);
  });

  it('answers another tenant\'s session on every read route exactly as a missing one', async () => {
    expect((await call('victim', 'POST', '/v1/sessions/victim-chat/inputs', { text: 'victim secret' })).status).toBe(202);
    expect((await call('victim', 'GET', '/v1/sessions/victim-chat/queue?payloads=true')).text).toContain('victim secret');
    for (const path of ['', '/queue', '/events']) {
      const cross = await call('attacker', 'GET', `/v1/sessions/victim-chat${path}`);
      const missing = await call('attacker', 'GET', `/v1/sessions/nobody-chat${path}`);
      expect(cross.status, path).toBe(404);
      expect(cross.json, path).toEqual(notFound('victim-chat'));
      expect(missing.json, path).toEqual(notFound('nobody-chat'));
      expect(cross.text).not.toContain('victim secret');
    }
    // The owner still reads it, and so does an operator (every tenant).
    expect((await call('victim', 'GET', '/v1/sessions/victim-chat')).json).toMatchObject({ sessionId: 'victim-chat', queueDepth: 1 });
    expect((await call('reader', 'GET', '/v1/sessions/victim-chat/queue?payloads=true')).text).toContain('victim secret');
  });

  it('refuses another tenant\'s enqueue, inject, close and cancel, and changes nothing', async () => {
    const own = await call('victim', 'POST', '/v1/sessions/victim-inbox/inputs', { text: 'mine' });
    expect(own.status).toBe(202);
    const inject = await call('attacker', 'POST', '/v1/sessions/victim-inbox/inputs', { text: 'injected', deliveryPolicy: 'earliest_safe_boundary' });
    expect(inject).toMatchObject({ status: 404, json: notFound('victim-inbox') });
    expect((await call('attacker', 'POST', '/v1/sessions/victim-inbox/commands', { kind: 'refresh_tool_catalog', reason: 'x' })).json).toEqual(notFound('victim-inbox'));
    const cancel = await call('attacker', 'DELETE', `/v1/sessions/victim-inbox/batches/${own.json.batchId}`);
    const cancelMissing = await call('attacker', 'DELETE', `/v1/sessions/nobody-inbox/batches/${own.json.batchId}`);
    expect(cancel.status).toBe(404);
    expect(cancel.json.error).toEqual({ ...cancelMissing.json.error, message: cancelMissing.json.error.message.replace('nobody-inbox', 'victim-inbox'), details: { ...cancelMissing.json.error.details, sessionId: 'victim-inbox' } });
    expect(await queuedTexts('victim-inbox')).toEqual(['mine']);

    // Close of a task session: the attacker gets the answer of a session that does not exist.
    expect((await call('victim', 'POST', '/v1/sessions', task('victim-task', 'agent-v'))).status).toBe(201);
    const close = await call('attacker', 'POST', '/v1/sessions/victim-task/close', {});
    const closeMissing = await call('attacker', 'POST', '/v1/sessions/nobody-task/close', {});
    expect(close.status).toBe(404);
    expect(close.json).toEqual(JSON.parse(JSON.stringify(closeMissing.json).replaceAll('nobody-task', 'victim-task')));
    expect((await f.store.sessions.get('victim-task'))!.status).toBe('active');
  });

  it('refuses another tenant\'s reset_session: the history stays (it was 10 nodes -> 0)', async () => {
    expect((await call('victim', 'POST', '/v1/sessions/victim-history/inputs', { text: 'start' })).status).toBe(202);
    const owner = { ownerId: 'test-worker', incarnationId: 'test-worker:1' };
    const claimed = await f.store.leases.tryClaim('victim-history', owner, 60_000);
    if (claimed.kind !== 'acquired') throw new Error('lease busy');
    const nodes: SessionNode[] = Array.from({ length: 10 }, (_, i) => ({
      nodeId: `n${i}`,
      parentNodeId: i === 0 ? null : `n${i - 1}`,
      timestamp: i,
      payload: { kind: 'message', role: 'user', parts: [{ type: 'text', text: `line ${i}` }] },
    }));
    await f.store.sessions.commit({
      sessionId: 'victim-history',
      state: { graph: { kind: 'append', nodes, leafNodeId: 'n9' }, checkpoint: { turnIndex: 1 }, agentFrames: [], currentAgentFrameId: null },
      leaseFence: leaseFence(claimed.lease),
      releaseLease: leaseFence(claimed.lease),
    });
    const reset = await call('attacker', 'POST', '/v1/sessions/victim-history/commands', { kind: 'reset_session', reason: 'wipe' }, { 'idempotency-key': 'r1' });
    expect(reset).toMatchObject({ status: 404, json: notFound('victim-history') });
    expect(await queuedTexts('victim-history')).toEqual(['start']);
    expect((await f.store.sessions.load('victim-history', { kind: 'full_graph' }))!.graph.nodes).toHaveLength(10);

    // A read-only operator cannot either; the owning tenant and an operator can.
    expect((await call('reader', 'POST', '/v1/sessions/victim-history/commands', { kind: 'reset_session', reason: 'x' })).status).toBe(403);
    expect((await call('victim', 'POST', '/v1/sessions/victim-history/commands', { kind: 'reset_session', reason: 'mine' })).status).toBe(202);
    expect((await call('operator', 'POST', '/v1/sessions/victim-history/commands', { kind: 'refresh_tool_catalog', reason: 'ops' })).status).toBe(202);
    expect(await f.store.sessions.tenantOf('victim-history')).toBe('victim');
  });

  it('refuses a task session created over an implicit session with queued input (the takeover)', async () => {
    const queued = await call('victim', 'POST', '/v1/sessions/victim-implicit/inputs', { text: 'accepted' });
    expect(queued.status).toBe(202);
    const takeover = await call('attacker', 'POST', '/v1/sessions', task('victim-implicit', 'agent-x', { callBudget: 0, timeLimitMs: 1000 }));
    expect(takeover).toMatchObject({ status: 409, json: { error: { code: 'SESSION_ALREADY_EXISTS', details: { sessionId: 'victim-implicit' } } } });
    // Not even its owner turns a session with accepted input into a task session.
    expect((await call('victim', 'POST', '/v1/sessions', task('victim-implicit', 'agent-v'))).status).toBe(409);
    expect(await f.store.sessions.get('victim-implicit')).toBeNull();
    expect((await f.store.queue.get(queued.json.batchId))!.status).toBe('queued');
    expect((await call('victim', 'POST', '/v1/sessions/victim-implicit/inputs', { text: 'still usable' })).status).toBe(202);
    expect(await queuedTexts('victim-implicit')).toEqual(['accepted', 'still usable']);
  });

  it('keeps the per-agent session cap per tenant: another tenant cannot fill it', async () => {
    for (let i = 0; i < 2; i++) expect((await call('attacker', 'POST', '/v1/sessions', task(undefined, 'agent-cap'))).status).toBe(201);
    expect(await call('attacker', 'POST', '/v1/sessions', task(undefined, 'agent-cap'))).toMatchObject({ status: 429, json: { error: { code: 'TOO_MANY_SESSIONS' } } });
    expect((await call('victim', 'POST', '/v1/sessions', task(undefined, 'agent-cap'))).status).toBe(201);
    expect(await f.store.sessions.countActiveForAgent('agent-cap', 'victim')).toBe(1);
  });

  it('refuses idempotency-key squatting: the victim\'s message is never silently deduplicated', async () => {
    // The victim's session exists: the squat is refused and the key stays the victim's.
    expect((await call('victim', 'POST', '/v1/sessions/victim-chat2/inputs', { text: 'hello' }, { 'idempotency-key': 'msg-1' })).status).toBe(202);
    const squat = await call('attacker', 'POST', '/v1/sessions/victim-chat2/inputs', { text: 'squatted' }, { 'idempotency-key': 'msg-2' });
    expect(squat).toMatchObject({ status: 404, json: notFound('victim-chat2') });
    const real = await call('victim', 'POST', '/v1/sessions/victim-chat2/inputs', { text: 'my real message' }, { 'idempotency-key': 'msg-2' });
    expect(real.status).toBe(202);
    expect(real.json.items[0].payload.input.items[0].text).toBe('my real message');
    expect(await queuedTexts('victim-chat2')).toEqual(['hello', 'my real message']);

    // A session id the victim has not used yet: whoever enqueues first owns it, and the other is
    // told so (404), never handed the first one's batch as a duplicate.
    expect((await call('attacker', 'POST', '/v1/sessions/victim-tomorrow/inputs', { text: 'squatted' }, { 'idempotency-key': 'msg-1' })).status).toBe(202);
    const late = await call('victim', 'POST', '/v1/sessions/victim-tomorrow/inputs', { text: 'mine' }, { 'idempotency-key': 'msg-1' });
    expect(late).toMatchObject({ status: 404, json: notFound('victim-tomorrow') });
  });

  it('confines keys bound to agent ids, and read-only operators to reads', async () => {
    expect(await call('bound', 'POST', '/v1/sessions', task(undefined, 'agent-other'))).toMatchObject({ status: 403, json: { error: { code: 'AGENT_NOT_ALLOWED' } } });
    const mine = await call('bound', 'POST', '/v1/sessions', task('bound-task', 'agent-v'));
    expect(mine.status).toBe(201);
    expect((await call('bound', 'POST', '/v1/sessions/bound-task/inputs', { text: 'ok' })).status).toBe(202);
    // Its own tenant's implicit session is not one of its agents' task sessions.
    expect((await call('bound', 'GET', '/v1/sessions/victim-chat')).json).toEqual(notFound('victim-chat'));
    expect((await call('bound', 'POST', '/v1/sessions/victim-chat/inputs', { text: 'x' })).json).toEqual(notFound('victim-chat'));
    expect((await call('bound', 'GET', '/v1/dead-letters')).status).toBe(403);

    expect((await call('reader', 'GET', '/v1/sessions/bound-task')).status).toBe(200);
    expect((await call('reader', 'GET', '/v1/dead-letters')).status).toBe(200);
    expect((await call('reader', 'POST', '/v1/sessions/bound-task/close', {})).status).toBe(403);
    expect((await call('reader', 'POST', '/v1/sessions/bound-task/inputs', { text: 'x' })).status).toBe(403);
    expect((await f.store.sessions.get('bound-task'))!.status).toBe('active');
  });

  it('lists and requeues dead letters of the caller\'s tenant only', async () => {
    const batch = await call('victim', 'POST', '/v1/sessions/victim-dead/inputs', { text: 'poison' });
    await f.store.queue.deadLetter('victim-dead', batch.json.batchId, 'poison pill');
    expect((await call('attacker', 'GET', '/v1/dead-letters')).json.deadLetters).toEqual([]);
    expect((await call('attacker', 'POST', `/v1/dead-letters/${batch.json.batchId}/requeue`)).status).toBe(404);
    expect((await call('victim', 'GET', '/v1/dead-letters')).json.deadLetters.map((d: { batchId: string }) => d.batchId)).toEqual([batch.json.batchId]);
    expect((await call('victim', 'POST', `/v1/dead-letters/${batch.json.batchId}/requeue`)).status).toBe(200);
  });

  it('keeps the environment key working as the default tenant, isolated from the others', async () => {
    expect((await call('environment', 'POST', '/v1/sessions/default-chat/inputs', { text: 'legacy' })).status).toBe(202);
    expect((await call('environment', 'GET', '/v1/sessions/default-chat/queue?payloads=true')).text).toContain('legacy');
    expect(await f.store.sessions.tenantOf('default-chat')).toBe('default');
    expect((await call('environment', 'GET', '/v1/sessions/victim-chat')).json).toEqual(notFound('victim-chat'));
    expect((await call('attacker', 'GET', '/v1/sessions/default-chat')).json).toEqual(notFound('default-chat'));
  });
});
