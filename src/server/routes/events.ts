/**
 * `GET /v1/sessions/:id/events`: Server-Sent Events of committed turns, then `session_closed`.
 *
 * Design: Redis wakes, Postgres tells. Workers publish `{ sessionId, turnId, headRevision }` on
 * the commit feed after each commit; a wake-up (or a poll every 2 s, which covers lost messages
 * and a Redis outage) makes the stream read the session's new stamped commits and graph from the
 * store and send one `commit` event per revision it has not sent yet. Event ids are head
 * revisions, so a reconnecting client resumes with `Last-Event-ID` (or `?afterRevision=`).
 *
 * Events: `ready` { sessionId, headRevision } once at the start; `commit` { sessionId,
 * headRevision, turnId, committedAtMs, appendedNodes } per committed turn; `session_closed`
 * { sessionId, status } when the task session is closed or expired, then the stream ends.
 * Nodes are attributed to the commit whose turn id prefixes their node id (the runtime's
 * `${turnId}:${index}`); others go to the newest commit of the wake-up.
 */
import type { FastifyInstance } from 'fastify';
import type { SessionNode } from '../../store/contract.js';
import { assertSessionId } from '../../store/validate.js';
import type { ServerContext } from '../context.js';
import { HttpError } from '../http-errors.js';
import { described } from '../openapi.js';
import { eventsQuery, parse, sessionIdParam } from '../schemas.js';
import { createStreamGate, DEFAULT_STREAM_LIMITS, streamCallerOf } from '../stream-limits.js';
import { assertSessionVisible } from '../tenancy.js';

/** Fallback poll: bounds how late an event is when its wake-up was lost. */
const POLL_MS = 2000;
/** A comment line this often keeps proxies from closing an idle stream (most time out at 30–60 s). */
const KEEPALIVE_MS = 15_000;
/**
 * A client that has not taken the bytes already sent after this long is dropped: writes wait for
 * its socket to drain instead of buffering in the server (clients that never read grew the heap
 * 134 → 227 MB, issue 14). 30 s is twice the keepalive period: a reading client drains long before.
 */
const SLOW_CLIENT_MS = 30_000;

export function registerEventRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const gate = ctx.streams ?? createStreamGate(DEFAULT_STREAM_LIMITS);
  const doc = described({ summary: 'Server-Sent Events: ready, commit (id: head revision; resume with Last-Event-ID), session_closed', tags: ['sessions'], caller: 'producer', params: sessionIdParam, querystring: eventsQuery });
  app.get('/v1/sessions/:id/events', { onRequest: ctx.auth.requireProducer, ...doc }, async (request, reply) => {
    const { id } = parse(sessionIdParam, request.params, 'params');
    assertSessionId(id, 'params.id');
    const query = parse(eventsQuery, request.query, 'query');
    await assertSessionVisible(ctx, request, id);
    const { store } = ctx;
    const [overview, task] = await Promise.all([store.operator.getSession(id), store.sessions.get(id)]);
    if (!overview && !task) throw new HttpError(404, 'SESSION_NOT_FOUND', `no session ${id}`, { sessionId: id });

    // HEAD (Fastify's automatic route): the headers only. A stream would never send them, since
    // Node holds a HEAD answer's headers until its end, and the request hung (the HTTP fuzzer).
    if (request.method === 'HEAD') return reply.header('content-type', 'text/event-stream; charset=utf-8').header('cache-control', 'no-cache, no-transform').send();

    const lastEventId = Number(request.headers['last-event-id']);
    let sentRevision = query.afterRevision ?? (Number.isSafeInteger(lastEventId) && lastEventId >= 0 ? lastEventId : (overview?.headRevision ?? 0));
    // Counted before the first read of the graph: refused streams cost no store work.
    const release = gate.acquire(streamCallerOf(request));
    let initial;
    try {
      initial = await store.sessions.load(id, { kind: 'full_graph' });
    } catch (err) {
      release();
      throw err;
    }
    const knownNodes = new Set((initial?.graph.nodes ?? []).map((n) => n.nodeId));

    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-request-id': String(request.id),
    });
    let open = true;
    let slowTimer: NodeJS.Timeout | null = null;
    /** Writes a chunk; when the socket buffers it, the client has SLOW_CLIENT_MS to take it. */
    const write = (chunk: string) => {
      if (!open) return;
      if (!raw.write(chunk) && slowTimer === null) {
        slowTimer = setTimeout(() => {
          request.log.info({ sessionId: id, buffered: raw.writableLength }, 'event stream dropped: the client did not read for 30 s');
          stop();
        }, SLOW_CLIENT_MS);
      }
    };
    const onDrain = () => {
      if (slowTimer !== null) clearTimeout(slowTimer);
      slowTimer = null;
      // A check skipped while the socket was full runs now.
      if (again) {
        again = false;
        wake();
      }
    };
    raw.on('drain', onDrain);
    const send = (event: string, data: unknown, eventId?: number) => {
      write(`${eventId !== undefined ? `id: ${eventId}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    write(`retry: ${POLL_MS}\n\n`);
    send('ready', { sessionId: id, headRevision: sentRevision });

    let running: Promise<void> | null = null;
    let again = false;
    async function check(): Promise<void> {
      const commits = (await store.operator.recentCommits(id, 50)).filter((c) => c.headRevision > sentRevision).reverse();
      if (commits.length > 0) {
        const read = await store.sessions.load(id, { kind: 'full_graph' });
        const fresh: SessionNode[] = (read?.graph.nodes ?? []).filter((n) => !knownNodes.has(n.nodeId));
        for (const node of fresh) knownNodes.add(node.nodeId);
        for (const [index, commit] of commits.entries()) {
          const last = index === commits.length - 1;
          const mine = fresh.filter((n) => n.nodeId.startsWith(`${commit.turnId}:`) || (last && !commits.some((c) => n.nodeId.startsWith(`${c.turnId}:`))));
          send('commit', { sessionId: id, headRevision: commit.headRevision, turnId: commit.turnId, committedAtMs: commit.committedAtMs, appendedNodes: mine }, commit.headRevision);
          sentRevision = commit.headRevision;
        }
      }
      const session = await store.sessions.get(id);
      // The store derives a time-expired status on read.
      const status = session?.status;
      if (status === 'closed' || status === 'expired') {
        send('session_closed', { sessionId: id, status });
        stop();
      }
    }
    function wake(): void {
      if (!open) return;
      // Backpressure: nothing more is read from the store while the client has not taken the last events.
      if (running || raw.writableNeedDrain) {
        again = true;
        return;
      }
      running = check()
        .catch((err) => request.log.warn({ err, sessionId: id }, 'event stream check failed; retrying at the next wake-up'))
        .finally(() => {
          running = null;
          if (again) {
            again = false;
            wake();
          }
        });
    }
    const unlisten = ctx.commits.listen(id, wake);
    const poll = setInterval(wake, POLL_MS);
    const keepalive = setInterval(() => write(': keepalive\n\n'), KEEPALIVE_MS);
    // Everything a stream registers is unregistered when it ends: the server keeps no state of a
    // closed stream (a stop callback left in the server's close list leaked about 8 KB per stream:
    // heap 29 → 94 MB after 8,000 streams, issue 14).
    const forget = ctx.onClose(stop);
    function stop(): void {
      if (!open) return;
      open = false;
      unlisten();
      clearInterval(poll);
      clearInterval(keepalive);
      if (slowTimer !== null) clearTimeout(slowTimer);
      raw.off('drain', onDrain);
      request.raw.off('close', stop);
      if (forget) forget();
      release();
      // A dropped slow client gets no more bytes: destroy, not end (end would wait for its buffer).
      if (raw.writableNeedDrain) raw.destroy();
      else raw.end();
    }
    request.raw.on('close', stop);
    wake();
  });
}
