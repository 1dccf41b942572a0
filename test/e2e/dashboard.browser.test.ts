/**
 * The dashboard in a real browser: Debian's Chromium driven by playwright-core against a real
 * server process. Log in, open the sessions view, open a session, cancel a pending batch with its
 * button, requeue a dead letter, close the session; hostile text renders as text (a `dialog`
 * handler must never fire). Saves test-results/dashboard-sessions.png.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RuntimeCommit } from '../../src/store/contract.js';
import { leaseFence, turnInputDraft } from '../../src/store/drafts.js';
import { turnCommitHash } from '../../src/store/hash.js';
import { createRuntimeFixture, type RuntimeFixture } from '../helpers/runtime.js';
import { OPERATOR, startServerProcess, type ServerProcess } from '../helpers/server.js';

const CHROMIUM = '/usr/bin/chromium';
const XSS = '<img src=x onerror=alert(1)>';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let f: RuntimeFixture;
let server: ServerProcess;
let browser: Browser;
const dialogs: string[] = [];

async function seed(store: RuntimeFixture['store']): Promise<{ pending: string; dead: string }> {
  // No worker runs in this file: what is queued stays queued.
  await store.sessions.create({ sessionId: 'support-chat-42', agentId: 'support-bot', authorizedTools: ['search', 'lookup_order'], callBudget: 20, timeLimitMs: 3_600_000, declaredIntent: `refund question ${XSS}` });
  await store.sessions.useTools('support-chat-42', ['search', 'lookup_order', 'search']);
  await store.queue.enqueue(turnInputDraft('support-chat-42', `where is my order? ${XSS}`, 'after_current_turn_commit', 'exclusive'));
  const pending = await store.queue.enqueue({ ...turnInputDraft('support-chat-42', 'also, can I change the address?', 'earliest_safe_boundary', 'join'), mergeKey: { kind: 'group', key: 'burst-1' } });
  const poison = await store.queue.enqueue(turnInputDraft('support-chat-42', 'this one crashed the agent', 'after_current_turn_commit', 'exclusive'));
  await store.queue.deadLetter('support-chat-42', poison.batchId, `handler threw: TypeError ${XSS}`);
  // A held lease and claim, so the table shows a holder with its fencing token.
  const lease = await store.leases.tryClaim('support-chat-42', { ownerId: 'worker-a:4711', incarnationId: 'i1' }, 600_000);
  if (lease.kind !== 'acquired') throw new Error('lease busy');
  await store.queue.claimReady({ sessionId: 'support-chat-42', fence: leaseFence(lease.lease), owner: lease.lease.owner, boundary: 'idle', ttlMs: 600_000, maxBatches: 1 });

  for (const [i, id] of ['billing-7', 'onboarding-3', 'research-agent-9'].entries()) {
    await store.sessions.create({ sessionId: id, agentId: i === 2 ? 'research-bot' : 'support-bot', authorizedTools: ['search'], callBudget: 10, timeLimitMs: 3_600_000 });
    if (i > 0) await store.sessions.useTools(id, Array.from({ length: i * 3 }, () => 'search'));
  }
  await store.queue.enqueue(turnInputDraft('chat-implicit-1', 'hello', 'after_current_turn_commit', 'exclusive'));
  // Committed turns, so "head" and "last commit" have something to show.
  for (const [sessionId, turns] of [['onboarding-3', 2], ['research-agent-9', 5]] as const) {
    const held = await store.leases.tryClaim(sessionId, { ownerId: 'worker-b:815', incarnationId: 'i2' }, 60_000);
    if (held.kind !== 'acquired') throw new Error('lease busy');
    for (let t = 0; t < turns; t++) {
      const commit: RuntimeCommit = { sessionId, state: { graph: { kind: 'unchanged', leafNodeId: null }, checkpoint: { turnIndex: t + 1 }, agentFrames: [], currentAgentFrameId: null }, leaseFence: leaseFence(held.lease) };
      if (t === turns - 1) commit.releaseLease = leaseFence(held.lease);
      await store.sessions.commit({ ...commit, turnStamp: { sessionId, turnId: `turn-${t + 1}`, hash: turnCommitHash(commit) } });
    }
  }
  await store.sessions.close('billing-7');
  return { pending: pending.batchId, dead: poison.batchId };
}

async function login(page: Page): Promise<void> {
  await page.goto(`${server.url}/admin/sessions`);
  await page.fill('#user', OPERATOR.user);
  await page.fill('#password', OPERATOR.password);
  await Promise.all([page.waitForURL('**/admin/sessions'), page.click('button[type=submit]')]);
}

describe.skipIf(!existsSync(CHROMIUM))('dashboard in Chromium', () => {
  let ids: { pending: string; dead: string };

  beforeAll(async () => {
    f = await createRuntimeFixture();
    ids = await seed(f.store);
    [server, browser] = await Promise.all([startServerProcess(f.env()), chromium.launch({ executablePath: CHROMIUM, args: ARGS })]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await f?.cleanup();
  });

  it('logs in, shows sessions, cancels a batch, requeues a dead letter and closes the session; hostile text stays text', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });

    // Without credentials: the login form, with status 401.
    const first = await page.goto(`${server.url}/admin/sessions`);
    expect(first!.status()).toBe(401);
    await page.fill('#user', OPERATOR.user);
    await page.fill('#password', 'wrong');
    await page.click('button[type=submit]');
    await expect.poll(() => page.textContent('body')).toContain('Wrong user or password');
    await login(page);

    const rows = page.locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(5);
    const chat = page.locator('tr', { hasText: 'support-chat-42' });
    expect(await chat.textContent()).toContain('worker-a:4711');
    expect(await chat.textContent()).toContain('fencing 1');
    expect(await chat.textContent()).toContain('3 / 20');
    expect(await page.locator('tr', { hasText: 'billing-7' }).textContent()).toContain('closed');
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/dashboard-sessions.png', fullPage: true });

    // The session page: pending batches with policies and merge keys, dead letters with reasons.
    await page.click('a:text("support-chat-42")');
    await page.waitForURL('**/admin/sessions/support-chat-42');
    expect(await page.textContent('body')).toContain('burst-1');
    expect(await page.locator('td.reason').first().textContent()).toBe(`handler threw: TypeError ${XSS}`);
    expect(await page.locator('td.text', { hasText: 'where is my order?' }).textContent()).toBe(`where is my order? ${XSS}`);
    expect(await page.locator('img').count()).toBe(0);
    await page.screenshot({ path: 'test-results/dashboard-session.png', fullPage: true });

    // Cancel the pending batch through its button: it is gone.
    await Promise.all([page.waitForURL('**done=*'), page.locator(`tr[data-batch="${ids.pending}"] button:text("Cancel")`).click()]);
    expect(await page.textContent('[role=status]')).toContain('cancelled');
    expect(await page.locator(`tr[data-batch="${ids.pending}"]`).count()).toBe(0);
    expect(await f.store.queue.get(ids.pending)).toBeNull();

    // Requeue the dead letter: it leaves the dead letters and is back in the queue.
    await Promise.all([page.waitForURL('**done=*'), page.locator(`tr[data-dead="${ids.dead}"] button:text("Requeue")`).click()]);
    expect(await page.locator(`tr[data-dead="${ids.dead}"]`).count()).toBe(0);
    expect(await page.locator(`tr[data-batch="${ids.dead}"]`).count()).toBe(1);
    expect(await f.store.queue.listDeadLetters('support-chat-42')).toEqual([]);

    // Close the session.
    await Promise.all([page.waitForURL('**done=*'), page.click('button:text("Close session")')]);
    expect(await page.textContent('h1 + p')).toContain('closed');
    expect((await f.store.sessions.get('support-chat-42'))!.status).toBe('closed');

    // Hostile text in the URL renders as text; a notice never shows text from the URL at all.
    await page.goto(`${server.url}/admin/sessions/${encodeURIComponent(XSS)}`);
    expect(await page.textContent('body')).toContain(XSS);
    for (const query of [`notice=${encodeURIComponent('Your session expired: log in again at https://evil.example')}`, `error=${encodeURIComponent(XSS)}`, 'done=__proto__', `refused=${encodeURIComponent(XSS)}`]) {
      await page.goto(`${server.url}/admin/sessions?${query}`);
      expect(await page.textContent('body'), query).not.toContain('evil.example');
      expect(await page.textContent('body'), query).not.toContain(XSS);
    }
    await page.goto(`${server.url}/admin/sessions?refused=BATCH_HELD`);
    expect(await page.textContent('[role=status]')).toContain('held by a running turn');
    expect(await page.locator('img').count()).toBe(0);

    // Bull Board is reachable behind the same login.
    const board = await page.goto(`${server.url}/admin/queues`);
    expect(board!.status()).toBe(200);
    expect(dialogs).toEqual([]);
  }, 120_000);

  it('answers 401 on every /admin route and the Bull Board API without credentials', async () => {
    const routes: Array<[string, string]> = [
      ['GET', '/admin'],
      ['GET', '/admin/sessions'],
      ['GET', '/admin/sessions/support-chat-42'],
      ['GET', '/admin/dead-letters'],
      ['POST', '/admin/logout'],
      ['POST', '/admin/sessions/support-chat-42/close'],
      ['POST', '/admin/sessions/support-chat-42/batches/b1/cancel'],
      ['POST', '/admin/dead-letters/b1/requeue'],
      ['GET', '/admin/queues'],
      ['GET', '/admin/queues/'],
      ['GET', '/admin/queues/api/queues'],
      ['GET', '/admin/queues/api/redis/stats'],
      ['PUT', '/admin/queues/api/queues/turnlane.turns/retry/failed'],
      ['PUT', '/admin/queues/api/queues/turnlane.turns/clean/completed'],
    ];
    for (const [method, path] of routes) {
      const res = await fetch(`${server.url}${path}`, { method, redirect: 'manual' });
      expect(res.status, `${method} ${path}`).toBe(401);
      const forged = await fetch(`${server.url}${path}`, { method, redirect: 'manual', headers: { cookie: 'turnlane_operator=b3Bz.99999999999999.forged' } });
      expect(forged.status, `${method} ${path} with a forged cookie`).toBe(401);
    }
    const withBasic = await fetch(`${server.url}/admin/queues/api/queues`, { headers: { authorization: `Basic ${Buffer.from(`${OPERATOR.user}:${OPERATOR.password}`).toString('base64')}` } });
    expect(withBasic.status).toBe(200);
  });
});
