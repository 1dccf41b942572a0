/**
 * The operator dashboard under /admin: login, the sessions view, a session page, dead letters,
 * and the form actions behind its buttons (cancel a batch, requeue a dead letter, close a
 * session). Every page needs operator credentials (Basic or the login cookie of a server-side
 * session); without them the answer is 401 with the login form. Every write under /admin, Bull
 * Board's API included, needs the CSRF token of @fastify/csrf-protection (security.ts); the
 * cookies are HttpOnly, SameSite=Strict, and Secure when the request came over TLS.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { assertSessionId, assertStorableText } from '../../store/validate.js';
import { SESSION_COOKIE, type Principal } from '../auth.js';
import { OPERATOR_SESSION_TTL_MS } from '../operator-sessions.js';
import { clearCsrf, cookiesSecure, issueCsrf } from '../security.js';
import { doneQuery, noticeOf, refusedQuery, type DoneCode } from './notices.js';
import { BULL_BOARD_PATH, registerBullBoard } from './bull-board.js';
import type { ServerContext } from '../context.js';
import { errorBody, HttpError, toHttpError } from '../http-errors.js';
import { deadLetterCursor, PAGE_DEFAULT, parseDeadLetterCursor } from '../paging.js';
import { requeueDeadLetter } from '../routes/dead-letters.js';
import { cancelBatch, closeSession, queueView } from '../routes/sessions.js';
import { deadLettersPage, errorPage, loginPage, sessionPage, sessionsPage, type PageChrome } from './views.js';

type Form = Record<string, string | undefined>;

function userOf(principal: Principal | undefined): string {
  return principal?.kind === 'operator' ? principal.user : 'local';
}

/** Only same-site paths under /admin: a login form must not become an open redirect. */
function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/admin(\/[A-Za-z0-9._:%\-/]*)?(\?[A-Za-z0-9._:%=&\-]*)?$/.test(next) ? next : '/admin/sessions';
}

/** A dead-letter page cursor from a dashboard link; a mangled one shows the first page (these are links, not an API). */
function pageCursor(value: unknown): { deadLetteredAtMs: number; enqueueSeq: number } | undefined {
  try {
    return parseDeadLetterCursor(typeof value === 'string' ? value : undefined, 'query');
  } catch {
    return undefined;
  }
}

function wantsHtml(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').includes('text/html');
}

export function registerDashboard(app: FastifyInstance, ctx: ServerContext): void {
  const { store, auth } = ctx;
  const chrome = (request: FastifyRequest, reply: FastifyReply, active: PageChrome['active']): PageChrome => ({
    user: userOf(request.principal),
    csrf: issueCsrf(request, reply),
    active,
    notice: noticeOf(request.query),
  });
  const sendHtml = (reply: FastifyReply, body: string, status = 200) =>
    reply.status(status).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(body);
  const back = (reply: FastifyReply, to: string, done: DoneCode) => reply.redirect(`${to}${to.includes('?') ? '&' : '?'}${doneQuery(done)}`, 303);
  /** A refused action goes back to its page with the refusal's code; a server failure stays an error (logged, 5xx). */
  const refused = (reply: FastifyReply, to: string, err: unknown) => {
    const { status, body } = toHttpError(err);
    if (status >= 500) throw err;
    return reply.redirect(`${to}${to.includes('?') ? '&' : '?'}${refusedQuery(body.error.code)}`, 303);
  };
  const sessionCookie = { path: '/admin', httpOnly: true, sameSite: 'strict', signed: true } as const;

  app.get('/admin/login', async (request, reply) => {
    const next = (request.query as { next?: string }).next;
    return sendHtml(reply, loginPage(safeNext(next), false));
  });
  app.post('/admin/login', async (request, reply) => {
    const form = (request.body ?? {}) as Record<string, unknown>;
    // Strings only: a JSON body could carry ['ops'], which String() would have let in.
    const user = typeof form.user === 'string' ? form.user.slice(0, 64) : '';
    const password = typeof form.password === 'string' ? form.password : '';
    const now = Date.now();
    try {
      auth.throttle.check(user, request.ip, now);
    } catch (err) {
      const { status, body, retryAfterSeconds } = toHttpError(err);
      request.log.warn({ user, ip: request.ip }, 'operator login throttled');
      if (retryAfterSeconds !== undefined) void reply.header('retry-after', String(retryAfterSeconds));
      if (!wantsHtml(request)) return reply.status(status).send(body);
      return sendHtml(reply, loginPage(safeNext(form.next), 'throttled'), status);
    }
    if (!(await auth.checkOperator(user, password))) {
      auth.throttle.fail(user, request.ip, now);
      request.log.info({ user, ip: request.ip }, 'operator login refused');
      // A script gets the typed error every other route answers with, a browser the form again.
      if (!wantsHtml(request)) return reply.status(401).send(errorBody('UNAUTHORIZED', 'wrong user or password'));
      return sendHtml(reply, loginPage(safeNext(form.next), true), 401);
    }
    auth.throttle.succeed(user);
    request.log.info({ user }, 'operator logged in');
    // A new session id at every login; the CSRF secret of the browser's previous session goes too.
    const previous = auth.sessionIdOf(request);
    if (previous !== null) auth.sessions.revoke(previous);
    clearCsrf(reply);
    void reply.setCookie(SESSION_COOKIE, auth.sessions.create(user, now), { ...sessionCookie, secure: cookiesSecure(request), maxAge: OPERATOR_SESSION_TTL_MS / 1000 });
    return reply.redirect(safeNext(form.next), 303);
  });

  // Everything else under /admin needs an operator; Bull Board is registered in this scope too.
  app.register(async (scope) => {
    // Answered here rather than thrown: Bull Board's plugin has its own error handler, which
    // would turn a thrown 401 into a 500.
    scope.addHook('onRequest', async (request, reply) => {
      let principal: Principal | null;
      try {
        principal = await auth.authenticate(request);
      } catch (err) {
        // Throttled Basic credentials: 429 with Retry-After.
        const { status, body, retryAfterSeconds } = toHttpError(err);
        if (retryAfterSeconds !== undefined) void reply.header('retry-after', String(retryAfterSeconds));
        return reply.status(status).send(body);
      }
      if (!principal) {
        if (wantsHtml(request)) return sendHtml(reply, loginPage(safeNext(request.url), false), 401);
        return reply.status(401).header('www-authenticate', 'Basic realm="turnlane", charset="UTF-8"').send(errorBody('UNAUTHORIZED', 'operator credentials are required'));
      }
      if (principal.kind === 'producer') return reply.status(403).send(errorBody('FORBIDDEN', 'a producer API key cannot use the dashboard'));
      if (principal.kind === 'operator' && principal.role === 'read_only' && request.method !== 'GET' && request.method !== 'HEAD') {
        return reply.status(403).send(errorBody('FORBIDDEN', 'a read-only operator cannot change anything'));
      }
      request.principal = principal;
      // Bull Board's pages: its UI echoes the XSRF-TOKEN cookie on its API writes.
      if (request.method === 'GET' && wantsHtml(request) && (request.url === BULL_BOARD_PATH || request.url.startsWith(`${BULL_BOARD_PATH}/`))) issueCsrf(request, reply);
    });
    // Every write under /admin (forms, logout, Bull Board's API) carries the CSRF token; checked
    // before any body check of Bull Board's, so a forged request learns nothing.
    scope.addHook('preValidation', (request, reply, done) => {
      if (request.method === 'GET' || request.method === 'HEAD' || request.method === 'OPTIONS') return done();
      scope.csrfProtection(request, reply, done);
    });
    scope.setErrorHandler((err, request, reply) => {
      const { status, body, retryAfterSeconds } = toHttpError(err);
      if (status >= 500 && status !== 503) request.log.error({ err }, 'dashboard request failed');
      if (retryAfterSeconds !== undefined) void reply.header('retry-after', String(retryAfterSeconds));
      if (status === 401 && wantsHtml(request)) return sendHtml(reply, loginPage(safeNext(request.url), false), 401);
      if (!wantsHtml(request)) return reply.status(status).send(body);
      return sendHtml(reply, errorPage({ ...chrome(request, reply, null), notice: undefined }, status, body.error.code, body.error.message), status);
    });

    scope.get('/admin', async (_request, reply) => reply.redirect('/admin/sessions', 302));

    scope.post('/admin/logout', async (request, reply) => {
      // Revoked on the server: the cookie is worthless from now on, wherever a copy of it is.
      const id = auth.sessionIdOf(request);
      if (id !== null) auth.sessions.revoke(id);
      clearCsrf(reply);
      void reply.clearCookie(SESSION_COOKIE, { path: '/admin' });
      return reply.redirect('/admin/login', 303);
    });

    scope.get('/admin/sessions', async (request, reply) => {
      const query = request.query as { after?: string; agent?: string };
      const agentId = typeof query.agent === 'string' && query.agent.trim() !== '' ? query.agent.trim() : undefined;
      assertStorableText(agentId, 'query.agent');
      const after = typeof query.after === 'string' && query.after !== '' ? query.after : undefined;
      const limit = 100;
      const sessions = await store.operator.listSessions({ limit, ...(after ? { afterSessionId: after } : {}), ...(agentId ? { agentId } : {}) });
      const next = sessions.length === limit ? sessions.at(-1)!.sessionId : null;
      return sendHtml(reply, sessionsPage(chrome(request, reply, 'sessions'), sessions, await store.clock.nowMs(), { agentId, next }));
    });

    scope.get('/admin/sessions/:id', async (request, reply) => {
      const { id } = request.params as { id: string };
      assertSessionId(id, 'session id');
      // One page of each table: `after` pages the queue (an enqueueSeq), `dead` the dead letters.
      const query = request.query as { after?: string; dead?: string };
      const afterSeq = typeof query.after === 'string' && /^\d{1,15}$/.test(query.after) ? Number(query.after) : 0;
      const deadAfter = pageCursor(query.dead);
      const [overview, policy, batches, commits, deadLetters, now] = await Promise.all([
        store.operator.getSession(id),
        store.sessions.get(id),
        queueView(store, id, { afterEnqueueSeq: afterSeq, limit: PAGE_DEFAULT }),
        store.operator.recentCommits(id, 20),
        store.queue.listDeadLetters(id, { limit: PAGE_DEFAULT, ...(deadAfter ? { after: deadAfter } : {}) }),
        store.clock.nowMs(),
      ]);
      if (!overview && !policy) throw new HttpError(404, 'SESSION_NOT_FOUND', `no session ${id}`);
      const base = `/admin/sessions/${encodeURIComponent(id)}`;
      const batchesNext = batches.length === PAGE_DEFAULT ? `${base}?after=${batches.at(-1)!.enqueueSeq}` : null;
      const deadLettersNext = deadLetters.length === PAGE_DEFAULT ? `${base}?dead=${deadLetterCursor(deadLetters.at(-1)!)}` : null;
      return sendHtml(reply, sessionPage(chrome(request, reply, 'sessions'), id, { overview, policy, batches, commits, deadLetters, now, batchesNext, deadLettersNext }));
    });

    scope.post('/admin/sessions/:id/batches/:batchId/cancel', async (request, reply) => {
      const { id, batchId } = request.params as { id: string; batchId: string };
      assertSessionId(id, 'session id');
      const to = `/admin/sessions/${encodeURIComponent(id)}`;
      try {
        await cancelBatch(ctx, id, batchId);
      } catch (err) {
        return refused(reply, to, err);
      }
      request.log.info({ user: userOf(request.principal), sessionId: id, batchId }, 'operator cancelled a batch');
      return back(reply, to, 'cancelled');
    });

    scope.post('/admin/sessions/:id/close', async (request, reply) => {
      const { id } = request.params as { id: string };
      assertSessionId(id, 'session id');
      const to = `/admin/sessions/${encodeURIComponent(id)}`;
      try {
        await closeSession(ctx, id);
      } catch (err) {
        return refused(reply, to, err);
      }
      request.log.info({ user: userOf(request.principal), sessionId: id }, 'operator closed a session');
      return back(reply, to, 'closed');
    });

    scope.get('/admin/dead-letters', async (request, reply) => {
      const after = pageCursor((request.query as { after?: unknown }).after);
      const [letters, now] = await Promise.all([store.queue.listDeadLetters(undefined, { limit: PAGE_DEFAULT, ...(after ? { after } : {}) }), store.clock.nowMs()]);
      const next = letters.length === PAGE_DEFAULT ? `/admin/dead-letters?after=${deadLetterCursor(letters.at(-1)!)}` : null;
      return sendHtml(reply, deadLettersPage(chrome(request, reply, 'dead-letters'), letters, now, next));
    });

    scope.post('/admin/dead-letters/:batchId/requeue', async (request, reply) => {
      const { batchId } = request.params as { batchId: string };
      const backTo = (request.body as Form | undefined)?.back;
      let to = '/admin/dead-letters';
      if (backTo) {
        assertSessionId(backTo, 'back');
        to = `/admin/sessions/${encodeURIComponent(backTo)}`;
      }
      try {
        await requeueDeadLetter(ctx, batchId);
      } catch (err) {
        return refused(reply, to, err);
      }
      request.log.info({ user: userOf(request.principal), batchId }, 'operator requeued a dead letter');
      return back(reply, to, 'requeued');
    });

    await registerBullBoard(scope, ctx);
  });
}
