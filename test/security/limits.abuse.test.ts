/**
 * The abuse battery of issue 14 (bounded resources, login throttling), against real server
 * processes on 127.0.0.1: event streams leave no state behind (live heap after 5,000 open/close
 * cycles within 10 % of its start, forced GC), streams are capped per caller with a typed 429,
 * 1,000 connections trickling a body are all closed by the request timeout, list routes answer
 * bounded pages without payloads unless asked, a session's queue is capped, `availableAtMs` is
 * bounded, and 20 wrong passwords are throttled (form and Basic alike).
 */
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { turnInputDraft } from '../../src/store/drafts.js';
import { createRuntimeFixture, type RuntimeFixture } from '../helpers/runtime.js';
import { bearer, credentialsEnv, OPERATOR, PRODUCER_KEY, startServerProcess, type ServerProcess } from '../helpers/server.js';

const HEAP_CHILD = fileURLToPath(new URL('./stream-heap-child.ts', import.meta.url));
const SLOW_CONNECTIONS = 1000;

let f: RuntimeFixture;
let server: ServerProcess;

const basicOf = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

async function call(method: string, path: string, headers: Record<string, string> = {}, body?: unknown) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    redirect: 'manual',
  });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    // HTML or empty.
  }
  return { status: res.status, headers: res.headers, json, bytes: text.length };
}

/** Waits until `check` holds, polling; fails after `timeoutMs` (a generous bound, not a measurement). */
async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('abuse battery: bounded resources and throttled logins', () => {
  beforeAll(async () => {
    f = await createRuntimeFixture();
    server = await startServerProcess(
      f.env({
        HTTP_REQUEST_TIMEOUT_MS: '2000',
        EVENT_STREAMS_PER_CALLER: '3',
        MAX_QUEUED_BATCHES_PER_SESSION: '120',
      }),
    );
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await f?.cleanup();
  });

  it('keeps no state of closed event streams: live heap after 5,000 open/close cycles within 10 % of its start', async () => {
    await f.store.sessions.create({ sessionId: 'heap-stream', agentId: 'abuse', authorizedTools: [], callBudget: 1, timeLimitMs: 3_600_000 });
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', HEAP_CHILD], {
      env: { ...process.env, ...f.env(), ...credentialsEnv(), HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'warn', STREAM_SESSION: 'heap-stream', STREAM_KEY: PRODUCER_KEY, EVENT_STREAMS_PER_CALLER: '64' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, err.slice(-2000)).toBe(0);
    const result = JSON.parse(out.trim().split('\n').at(-1)!) as { before: number; after: number; cycles: number };
    console.log(`stream heap: ${(result.before / 1e6).toFixed(1)} MB before, ${(result.after / 1e6).toFixed(1)} MB after ${result.cycles} streams`);
    expect(result.cycles).toBe(5000);
    expect(result.after / result.before).toBeLessThan(1.1);
  }, 600_000);

  it('caps event streams per caller with a typed 429 and frees the slot when a stream closes', async () => {
    await f.store.sessions.create({ sessionId: 'capped-streams', agentId: 'abuse', authorizedTools: [], callBudget: 1, timeLimitMs: 3_600_000 });
    const open: AbortController[] = [];
    for (let i = 0; i < 3; i++) {
      const controller = new AbortController();
      const res = await fetch(`${server.url}/v1/sessions/capped-streams/events`, { headers: bearer, signal: controller.signal });
      expect(res.status).toBe(200);
      open.push(controller);
    }
    const refused = await call('GET', '/v1/sessions/capped-streams/events', bearer);
    expect(refused.status).toBe(429);
    expect(refused.json.error).toMatchObject({ code: 'TOO_MANY_STREAMS', details: { scope: 'caller', limit: 3 } });
    // Another caller (an operator) still gets a stream.
    const other = new AbortController();
    expect((await fetch(`${server.url}/v1/sessions/capped-streams/events`, { headers: basicOf(OPERATOR.user, OPERATOR.password), signal: other.signal })).status).toBe(200);
    other.abort();
    open.pop()!.abort();
    // The server releases the slot when it sees the close.
    await waitFor(async () => {
      const controller = new AbortController();
      const res = await fetch(`${server.url}/v1/sessions/capped-streams/events`, { headers: bearer, signal: controller.signal });
      if (res.status === 200) open.push(controller);
      else await res.text();
      return res.status === 200;
    }, 30_000, 'a freed stream slot');
    for (const controller of open) controller.abort();
  });

  it('closes 1,000 connections that trickle a body once the request timeout passes, and keeps serving', async () => {
    const sockets: Socket[] = [];
    let closed = 0;
    const trickle = setInterval(() => {
      for (const socket of sockets) if (!socket.destroyed) socket.write('a');
    }, 250);
    try {
      for (let i = 0; i < SLOW_CONNECTIONS; i++) {
        const url = new URL(server.url);
        const socket = connect({ host: '127.0.0.1', port: Number(url.port) });
        socket.on('error', () => {});
        socket.on('close', () => closed++);
        socket.on('data', () => {});
        socket.write(`POST /v1/sessions/slow-${i}/inputs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{"text":"`);
        sockets.push(socket);
      }
      // Every connection still trickling is closed by the server (HTTP_REQUEST_TIMEOUT_MS=2000 here).
      await waitFor(() => closed === SLOW_CONNECTIONS, 120_000, `${SLOW_CONNECTIONS} slow connections to be closed (closed so far: ${closed})`);
    } finally {
      clearInterval(trickle);
      for (const socket of sockets) socket.destroy();
    }
    expect(closed).toBe(SLOW_CONNECTIONS);
    expect((await call('GET', '/healthz')).status).toBe(200);
  }, 180_000);

  it('answers list routes one bounded page at a time, payloads only when asked', async () => {
    const text = 'x'.repeat(20_000);
    for (let i = 0; i < 120; i++) await f.store.queue.enqueue(turnInputDraft('big-queue', `${i} ${text}`, 'after_current_turn_commit', 'exclusive'));
    const first = await call('GET', '/v1/sessions/big-queue/queue', bearer);
    expect(first.status).toBe(200);
    expect(first.json.batches).toHaveLength(50);
    expect(first.json.batches[0].items).toBeUndefined();
    expect(first.json.batches[0]).toMatchObject({ itemCount: 1, held: false });
    expect(first.bytes).toBeLessThan(50 * 1000);
    expect(first.json.next).toBe(String(first.json.batches[49].enqueueSeq));
    const seen = first.json.batches.map((b: { batchId: string }) => b.batchId);
    let next = first.json.next as string | null;
    while (next !== null) {
      const page = await call('GET', `/v1/sessions/big-queue/queue?after=${next}&limit=100`, bearer);
      seen.push(...page.json.batches.map((b: { batchId: string }) => b.batchId));
      next = page.json.next;
    }
    expect(new Set(seen).size).toBe(120);
    const withPayloads = await call('GET', '/v1/sessions/big-queue/queue?limit=2&payloads=true', bearer);
    expect(withPayloads.json.batches[0].items[0].payload.input.items[0].text).toBe(`0 ${text}`);
    for (const query of ['limit=101', 'limit=0', 'after=-1', 'payloads=yes', 'limitt=5']) {
      expect((await call('GET', `/v1/sessions/big-queue/queue?${query}`, bearer)).status, query).toBe(400);
    }

    // Dead letters: the same, with a cursor over (deadLetteredAtMs, enqueueSeq).
    const batches = await f.store.queue.list('big-queue', { limit: 60 });
    for (const b of batches) await f.store.queue.deadLetter('big-queue', b.batchId, 'abuse');
    const operator = basicOf(OPERATOR.user, OPERATOR.password);
    const letters = await call('GET', '/v1/dead-letters', operator);
    expect(letters.json.deadLetters).toHaveLength(50);
    expect(letters.json.deadLetters[0].batch.items).toBeUndefined();
    const rest = await call('GET', `/v1/dead-letters?after=${letters.json.next}`, operator);
    expect(rest.json.deadLetters).toHaveLength(10);
    expect(rest.json.next).toBeNull();
    expect((await call('GET', '/v1/dead-letters?after=junk', operator)).status).toBe(400);
  }, 120_000);

  it('caps a session queue with a typed 429 and refuses an availableAtMs past the bound', async () => {
    for (let i = 0; i < 120; i++) await f.store.queue.enqueue(turnInputDraft('full-queue', `m${i}`, 'after_current_turn_commit', 'exclusive'));
    const refused = await call('POST', '/v1/sessions/full-queue/inputs', bearer, { text: 'one too many' });
    expect(refused.status).toBe(429);
    expect(refused.json.error).toMatchObject({ code: 'SESSION_QUEUE_FULL', details: { limit: 120, queued: 120 } });
    const far = await call('POST', '/v1/sessions/elsewhere/inputs', bearer, { text: 'never', availableAtMs: Number.MAX_SAFE_INTEGER });
    expect(far.status).toBe(400);
    expect(far.json.error.code).toBe('INVALID_INPUT');
    expect(await f.store.queue.list('elsewhere')).toEqual([]);
  });

  it('throttles 20 wrong passwords: per user, per address, form and Basic alike', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await call('POST', '/admin/login', {}, { user: OPERATOR.user, password: `wrong-${i}` })).status);
    // 10 failures per user per window (the default), then 429 before the password is checked.
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses.slice(10)).toEqual(Array(10).fill(429));
    const right = await call('POST', '/admin/login', {}, { user: OPERATOR.user, password: OPERATOR.password });
    expect(right.status).toBe(429);
    expect(right.json.error.code).toBe('LOGIN_THROTTLED');
    expect(Number(right.headers.get('retry-after'))).toBeGreaterThan(0);
    // Basic guesses meet the same throttle (a Basic credential verified before stays usable: not a guess).
    expect((await call('GET', '/v1/dead-letters', basicOf(OPERATOR.user, 'wrong-basic'))).status).toBe(429);
    // Refused attempts are not failures: the address has 10. Ten more, for other users, reach its limit (20)...
    for (let i = 0; i < 10; i++) expect((await call('POST', '/admin/login', {}, { user: `guess-${i}`, password: 'x' })).status).toBe(401);
    // ...and then any user from this address is refused.
    expect((await call('POST', '/admin/login', {}, { user: 'someone-else', password: 'x' })).status).toBe(429);
  }, 120_000);
});
