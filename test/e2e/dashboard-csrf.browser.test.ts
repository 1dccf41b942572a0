/**
 * Cross-site request forgery against the dashboard, in Chromium: an operator whose browser holds
 * Basic credentials (or the login cookie) visits a page on another origin that posts a form to
 * Bull Board's API and to a dashboard action. Both are refused (403 CSRF) and nothing is written;
 * the same writes from the dashboard's own origin, with the token its pages hand out, go through.
 * Saves screenshots of the pages this issue changed under test-results/.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { turnInputDraft } from '../../src/store/drafts.js';
import { createRuntimeFixture, type RuntimeFixture } from '../helpers/runtime.js';
import { OPERATOR, startServerProcess, type ServerProcess } from '../helpers/server.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let f: RuntimeFixture;
let server: ServerProcess;
let browser: Browser;
let attacker: Server;
let attackerUrl = '';
/** The page the attacker's site serves: set per test. */
let attackPage = '';

describe.skipIf(!existsSync(CHROMIUM))('CSRF in Chromium', () => {
  beforeAll(async () => {
    f = await createRuntimeFixture();
    await f.store.sessions.create({ sessionId: 'victim-session', agentId: 'support-bot', authorizedTools: [], callBudget: 5, timeLimitMs: 3_600_000 });
    // 55 dead letters: the dead-letter table shows a page of 50 and a Next link.
    for (let i = 0; i < 55; i++) {
      const batch = await f.store.queue.enqueue(turnInputDraft('victim-session', `poison ${i}`, 'after_current_turn_commit', 'exclusive'));
      await f.store.queue.deadLetter('victim-session', batch.batchId, `handler threw #${i}`);
    }
    attacker = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(attackPage));
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    attackerUrl = `http://localhost:${(attacker.address() as { port: number }).port}`;
    [server, browser] = await Promise.all([startServerProcess(f.env()), chromium.launch({ executablePath: CHROMIUM, args: ARGS })]);
    mkdirSync('test-results', { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await new Promise((resolve) => attacker?.close(resolve));
    await f?.cleanup();
  });

  it('refuses a cross-origin form post to Bull Board and to a dashboard action, with Basic credentials in the browser', async () => {
    // Credentials the browser sends by itself, as it does with Basic credentials it has cached.
    const authorization = `Basic ${Buffer.from(`${OPERATOR.user}:${OPERATOR.password}`).toString('base64')}`;
    const context = await browser.newContext({ extraHTTPHeaders: { authorization }, viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    // The operator has the dashboard open (so the browser has its cookies too).
    expect((await page.goto(`${server.url}/admin/sessions`))!.status()).toBe(200);
    const jobsBefore = await f.queue.getJobCountByTypes('waiting', 'delayed', 'prioritized');

    const queue = f.settings.queueName;
    const answers: Array<{ url: string; status: number }> = [];
    page.on('response', (r) => {
      if (r.request().method() === 'POST') answers.push({ url: r.url(), status: r.status() });
    });
    // text/plain is what a form can send that looks most like JSON: {"name":"evil","data":{"x":"="}}.
    attackPage = `<!doctype html><form id="f" method="post" enctype="text/plain" action="${server.url}/admin/queues/api/queues/${queue}/add">
<input name='{"name":"evil","data":{"x":"' value='"}}'></form><script>document.getElementById('f').submit()</script>`;
    await Promise.all([page.waitForResponse((r) => r.url().includes('/api/queues/') && r.request().method() === 'POST'), page.goto(attackerUrl)]);
    attackPage = `<!doctype html><form id="f" method="post" action="${server.url}/admin/queues/api/queues/${queue}/add"><input name="name" value="evil"></form>
<script>document.getElementById('f').submit()</script>`;
    await Promise.all([page.waitForResponse((r) => r.url().endsWith('/add') && r.request().method() === 'POST' && answers.length >= 2), page.goto(attackerUrl)]);
    attackPage = `<!doctype html><form id="f" method="post" action="${server.url}/admin/sessions/victim-session/close"><input name="csrf" value="guess"></form>
<script>document.getElementById('f').submit()</script>`;
    await Promise.all([page.waitForResponse((r) => r.url().endsWith('/close') && r.request().method() === 'POST'), page.goto(attackerUrl)]);
    await page.waitForLoadState();
    await page.screenshot({ path: 'test-results/dashboard-csrf-refused.png', fullPage: true });

    expect(answers.map((a) => a.status)).toEqual([403, 403, 403]);
    expect(await f.queue.getJobCountByTypes('waiting', 'delayed', 'prioritized')).toBe(jobsBefore);
    expect((await f.store.sessions.get('victim-session'))!.status).toBe('active');
    await context.close();
  });

  it('lets the dashboard\'s own pages write: Bull Board\'s UI token and the forms\' token', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${server.url}/admin/login`);
    await page.fill('#user', OPERATOR.user);
    await page.fill('#password', OPERATOR.password);
    await Promise.all([page.waitForURL('**/admin/sessions'), page.click('button[type=submit]')]);

    // The dead-letter table: one page of 50 and a Next link to the rest.
    await page.goto(`${server.url}/admin/dead-letters`);
    expect(await page.locator('tr[data-dead]').count()).toBe(50);
    await page.screenshot({ path: 'test-results/dashboard-dead-letters-paged.png', fullPage: true });
    await Promise.all([page.waitForURL('**/admin/dead-letters?after=*'), page.click('a:text("Next page")')]);
    expect(await page.locator('tr[data-dead]').count()).toBe(5);

    // Bull Board: its page sets XSRF-TOKEN; a same-origin write that echoes it (as Bull Board's axios does) is accepted.
    expect((await page.goto(`${server.url}/admin/queues`))!.status()).toBe(200);
    await page.waitForSelector('text=turnlane');
    await page.screenshot({ path: 'test-results/bull-board.png', fullPage: true });
    const status = await page.evaluate(async (queue) => {
      const cookies = String((globalThis as unknown as { document: { cookie: string } }).document.cookie).split('; ');
      const token = decodeURIComponent(cookies.find((c) => c.startsWith('XSRF-TOKEN='))!.slice('XSRF-TOKEN='.length));
      const res = await fetch(`/admin/queues/api/queues/${queue}/add`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-xsrf-token': token }, body: JSON.stringify({ name: 'by-hand', data: {} }) });
      return res.status;
    }, f.settings.queueName);
    expect(status).toBe(200);
    expect((await f.queue.getJobs(['waiting', 'delayed', 'prioritized'])).some((job) => job.name === 'by-hand')).toBe(true);

    // A dashboard form (close the session) goes through with its page's token; logout revokes the session.
    await page.goto(`${server.url}/admin/sessions/victim-session`);
    await Promise.all([page.waitForURL('**done=closed'), page.click('button:text("Close session")')]);
    expect(await page.textContent('[role=status]')).toContain('Session closed');
    await page.screenshot({ path: 'test-results/dashboard-session-closed.png', fullPage: true });
    const cookie = (await context.cookies()).find((c) => c.name === 'turnlane_operator')!;
    await Promise.all([page.waitForURL('**/admin/login'), page.click('button:text("Log out")')]);
    const replay = await fetch(`${server.url}/admin/sessions`, { headers: { cookie: `turnlane_operator=${cookie.value}` }, redirect: 'manual' });
    expect(replay.status).toBe(401);
    await context.close();
  }, 120_000);
});
