/**
 * The operator dashboard under /admin: login, the sessions view, a session page, dead letters,
 * and the form actions behind its buttons (cancel a batch, requeue a dead letter, close a
 * session). Every page needs operator credentials (Basic or the login cookie); without them the
 * answer is 401 with the login form. Actions are POST forms carrying a CSRF token, and the cookie
 * is SameSite=Strict.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { assertSessionId, assertStorableText } from '../../store/validate.js';
import { SESSION_COOKIE, type Principal } from '../auth.js';
import { registerBullBoard } from './bull-board.js';
import type { ServerContext } from '../context.js';
import { errorBody, HttpError, toHttpError } from '../http-errors.js';
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

function wantsHtml(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').includes('text/html');
}

export function registerDashboard(app: FastifyInstance, ctx: ServerContext): void {
  const { store, auth } = ctx;
  const chrome = (request: FastifyRequest, active: PageChrome['active']): PageChrome => {
    const query = request.query as { notice?: string; error?: string };
    const text = typeof query.notice === 'string' ? query.notice.slice(0, 300) : typeof query.error === 'string' ? query.error.slice(0, 300) : undefined;
    return { user: userOf(request.principal), csrf: auth.csrfToken(request), active, notice: text ? { text, error: typeof query.error === 'string' } : undefined };
  };
  const sendHtml = (reply: FastifyReply, body: string, status = 200) =>
    reply.status(status).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(body);
  const back = (reply: FastifyReply, to: string, message: string, error = false) =>
    reply.redirect(`${to}${to.includes('?') ? '&' : '?'}${error ? 'error' : 'notice'}=${encodeURIComponent(message)}`, 303);
  /** A refused action goes back to its page with the reason; a server failure stays an error (logged, 5xx). */
  const refused = (reply: FastifyReply, to: string, err: unknown) => {
    const { status, body } = toHttpError(err);
    if (status >= 500) throw err;
    return back(reply, to, body.error.message, true);
  };
  const checkCsrf = (request: FastifyRequest) => {
    if (request.principal?.kind === 'local') return;
    if ((request.body as Form | undefined)?.csrf !== auth.csrfToken(request)) throw new HttpError(403, 'CSRF', 'the form is stale: reload the page and try again');
  };

  app.get('/admin/login', async (request, reply) => {
    const next = (request.query as { next?: string }).next;
    return sendHtml(reply, loginPage(safeNext(next), false));
  });
  app.post('/admin/login', async (request, reply) => {
    const form = (request.body ?? {}) as Record<string, unknown>;
    // Strings only: a JSON body could carry ['ops'], which String() would have let in.
    const user = typeof form.user === 'string' ? form.user : '';
    const password = typeof form.password === 'string' ? form.password : '';
    if (!auth.checkOperator(user, password)) {
      request.log.info({ user: user.slice(0, 64) }, 'operator login refused');
      // A script gets the typed error every other route answers with, a browser the form again.
      if (!wantsHtml(request)) return reply.status(401).send(errorBody('UNAUTHORIZED', 'wrong user or password'));
      return sendHtml(reply, loginPage(safeNext(form.next), true), 401);
    }
    request.log.info({ user }, 'operator logged in');
    const cookie = `${SESSION_COOKIE}=${encodeURIComponent(auth.issueSession(user, Date.now()))}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=43200${request.protocol === 'https' ? '; Secure' : ''}`;
    return reply.header('set-cookie', cookie).redirect(safeNext(form.next), 303);
  });

  // Everything else under /admin needs an operator; Bull Board is registered in this scope too.
  app.register(async (scope) => {
    // Answered here rather than thrown: Bull Board's plugin has its own error handler, which
    // would turn a thrown 401 into a 500.
    scope.addHook('onRequest', async (request, reply) => {
      const principal = await auth.authenticate(request);
      if (!principal) {
        if (wantsHtml(request)) return sendHtml(reply, loginPage(safeNext(request.url), false), 401);
        return reply.status(401).header('www-authenticate', 'Basic realm="turnlane", charset="UTF-8"').send(errorBody('UNAUTHORIZED', 'operator credentials are required'));
      }
      if (principal.kind === 'producer') return reply.status(403).send(errorBody('FORBIDDEN', 'a producer API key cannot use the dashboard'));
      if (principal.kind === 'operator' && principal.role === 'read_only' && request.method !== 'GET' && request.method !== 'HEAD') {
        return reply.status(403).send(errorBody('FORBIDDEN', 'a read-only operator cannot change anything'));
      }
      request.principal = principal;
    });
    scope.setErrorHandler((err, request, reply) => {
      const { status, body, retryAfterSeconds } = toHttpError(err);
      if (status >= 500 && status !== 503) request.log.error({ err }, 'dashboard request failed');
      if (retryAfterSeconds !== undefined) void reply.header('retry-after', String(retryAfterSeconds));
      if (status === 401 && wantsHtml(request)) return sendHtml(reply, loginPage(safeNext(request.url), false), 401);
      if (!wantsHtml(request)) return reply.status(status).send(body);
      return sendHtml(reply, errorPage({ ...chrome(request, null), notice: undefined }, status, body.error.code, body.error.message), status);
    });

    scope.get('/admin', async (_request, reply) => reply.redirect('/admin/sessions', 302));

    scope.post('/admin/logout', async (request, reply) => {
      checkCsrf(request);
      return reply.header('set-cookie', `${SESSION_COOKIE}=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0`).redirect('/admin/login', 303);
    });

    scope.get('/admin/sessions', async (request, reply) => {
      const query = request.query as { after?: string; agent?: string };
      const agentId = typeof query.agent === 'string' && query.agent.trim() !== '' ? query.agent.trim() : undefined;
      assertStorableText(agentId, 'query.agent');
      const after = typeof query.after === 'string' && query.after !== '' ? query.after : undefined;
      const limit = 100;
      const sessions = await store.operator.listSessions({ limit, ...(after ? { afterSessionId: after } : {}), ...(agentId ? { agentId } : {}) });
      const next = sessions.length === limit ? sessions.at(-1)!.sessionId : null;
      return sendHtml(reply, sessionsPage(chrome(request, 'sessions'), sessions, await store.clock.nowMs(), { agentId, next }));
    });

    scope.get('/admin/sessions/:id', async (request, reply) => {
      const { id } = request.params as { id: string };
      assertSessionId(id, 'session id');
      const [overview, policy, batches, commits, deadLetters, now] = await Promise.all([
        store.operator.getSession(id),
        store.sessions.get(id),
        queueView(store, id),
        store.operator.recentCommits(id, 20),
        store.queue.listDeadLetters(id),
        store.clock.nowMs(),
      ]);
      if (!overview && !policy) throw new HttpError(404, 'SESSION_NOT_FOUND', `no session ${id}`);
      return sendHtml(reply, sessionPage(chrome(request, 'sessions'), id, { overview, policy, batches, commits, deadLetters, now }));
    });

    scope.post('/admin/sessions/:id/batches/:batchId/cancel', async (request, reply) => {
      checkCsrf(request);
      const { id, batchId } = request.params as { id: string; batchId: string };
      assertSessionId(id, 'session id');
      const to = `/admin/sessions/${encodeURIComponent(id)}`;
      try {
        await cancelBatch(ctx, id, batchId);
      } catch (err) {
        return refused(reply, to, err);
      }
      request.log.info({ user: userOf(request.principal), sessionId: id, batchId }, 'operator cancelled a batch');
      return back(reply, to, `Batch ${batchId} cancelled.`);
    });

    scope.post('/admin/sessions/:id/close', async (request, reply) => {
      checkCsrf(request);
      const { id } = request.params as { id: string };
      assertSessionId(id, 'session id');
      const to = `/admin/sessions/${encodeURIComponent(id)}`;
      try {
        await closeSession(ctx, id);
      } catch (err) {
        return refused(reply, to, err);
      }
      request.log.info({ user: userOf(request.principal), sessionId: id }, 'operator closed a session');
      return back(reply, to, 'Session closed; its unclaimed batches were cancelled.');
    });

    scope.get('/admin/dead-letters', async (request, reply) => {
      const [letters, now] = await Promise.all([store.queue.listDeadLetters(), store.clock.nowMs()]);
      return sendHtml(reply, deadLettersPage(chrome(request, 'dead-letters'), letters, now));
    });

    scope.post('/admin/dead-letters/:batchId/requeue', async (request, reply) => {
      checkCsrf(request);
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
      return back(reply, to, `Batch ${batchId} requeued at the tail of its session.`);
    });

    await registerBullBoard(scope, ctx);
  });
}
