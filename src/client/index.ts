/**
 * `turnlane/client`: a typed client of the HTTP API (README, "HTTP API"; /openapi.json).
 *
 *   const api = createClient({ baseUrl: 'http://localhost:8080', apiKey: process.env.MY_KEY });
 *   const batch = await api.enqueue('chat-42', { text: 'hello' }, { idempotencyKey: 'msg-1' });
 *   for await (const event of api.events('chat-42')) if (event.type === 'commit') console.log(event.data.appendedNodes);
 *
 * Failures are TurnlaneApiError with the API's `code` (TurnlaneNetworkError when the server was
 * never reached). Reads, and enqueues and commands (which always carry an Idempotency-Key: yours,
 * or one generated per call), are retried on a network error, 502/503/504, or 429 with
 * Retry-After, with the same key every time, so a retry never enqueues twice. The event stream
 * resumes after a drop with `Last-Event-ID`, so no commit is skipped or repeated.
 */
import { TurnlaneApiError, TurnlaneNetworkError, apiErrorOf, retryAfterOf } from './errors.js';
import { parseSse } from './sse.js';
import type {
  CreateSessionInput,
  DeadLetter,
  QueuedWorkBatch,
  QueueView,
  Readiness,
  SessionCommandInput,
  SessionEvent,
  SessionList,
  SessionView,
  TaskSession,
  TurnInput,
} from './types.js';

export { TurnlaneApiError, TurnlaneNetworkError } from './errors.js';
export type { ApiErrorCode } from './errors.js';
export type * from './types.js';

export interface ClientOptions {
  /** The server, e.g. `http://localhost:8080`. */
  baseUrl: string;
  /** A producer key, sent as `Authorization: Bearer …`. */
  apiKey?: string;
  /** Operator credentials (Basic auth): the operator routes, and the producer routes too. */
  operator?: { user: string; password: string };
  /** Retries after the first attempt of a retryable call. Default 3. */
  retries?: number;
  /** First retry delay when the server gives no Retry-After (ms), doubled per retry, at most 5 s. Default 250. */
  retryDelayMs?: number;
  /** One attempt's time limit (ms). Default 30,000. Not applied to the event stream. */
  timeoutMs?: number;
  /** The fetch to use. Default the global fetch (Node 20+, browsers). */
  fetch?: typeof fetch;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface IdempotentCallOptions extends CallOptions {
  /** The batch's source key (`Idempotency-Key`): a repeat returns the first batch. Default: a new UUID per call, kept across its retries. */
  idempotencyKey?: string;
}

export interface EventsOptions {
  /** Resume after this head revision (as `Last-Event-ID`). Default: the session's head when the stream opens. */
  afterRevision?: number;
  /** Ends the iteration. */
  signal?: AbortSignal;
  /** Reconnect attempts in a row, without an event between them, before giving up. Default 10. */
  maxReconnects?: number;
}

interface Request {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  retryable: boolean;
  signal?: AbortSignal | undefined;
}

const RETRYABLE_STATUS = new Set([502, 503, 504]);
const MAX_RETRY_DELAY_MS = 5_000;

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}

const seg = encodeURIComponent;

/** Base64 of the UTF-8 bytes (btoa alone refuses characters above U+00FF). */
function base64(text: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}

export type TurnlaneClient = ReturnType<typeof createClient>;

export function createClient(options: ClientOptions) {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const retries = options.retries ?? 3;
  const retryDelayMs = options.retryDelayMs ?? 250;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const doFetch = options.fetch ?? fetch;
  // Web APIs only (fetch, crypto.randomUUID, btoa, streams): the client runs in Node 20+ and in browsers.
  const basic = options.operator ? { authorization: `Basic ${base64(`${options.operator.user}:${options.operator.password}`)}` } : undefined;
  const auth: Record<string, string> = options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : (basic ?? {});
  const operatorAuth: Record<string, string> = basic ?? auth;

  function url(path: string, query: Request['query'] = {}): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
    const qs = params.toString();
    return `${baseUrl}${path}${qs ? `?${qs}` : ''}`;
  }

  async function call<T>(request: Request): Promise<T> {
    const attempts = request.retryable ? retries + 1 : 1;
    for (let attempt = 1; ; attempt++) {
      const signals = [AbortSignal.timeout(timeoutMs), ...(request.signal ? [request.signal] : [])];
      let response: Response;
      try {
        response = await doFetch(url(request.path, request.query), {
          method: request.method,
          headers: { ...auth, ...(request.body !== undefined ? { 'content-type': 'application/json' } : {}), ...request.headers },
          ...(request.body !== undefined ? { body: JSON.stringify(request.body) } : {}),
          signal: AbortSignal.any(signals),
        });
      } catch (err) {
        if (request.signal?.aborted) throw request.signal.reason;
        if (attempt >= attempts) throw new TurnlaneNetworkError(`${request.method} ${request.path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
        await sleep(backoff(attempt, null), request.signal);
        continue;
      }
      if (response.ok) return (response.status === 204 ? undefined : await response.json()) as T;
      const retryAfter = retryAfterOf(response);
      const again = attempt < attempts && (RETRYABLE_STATUS.has(response.status) || (response.status === 429 && retryAfter !== null));
      if (!again) throw await apiErrorOf(response);
      await response.body?.cancel().catch(() => {});
      await sleep(backoff(attempt, retryAfter), request.signal);
    }
  }

  function backoff(attempt: number, retryAfterMs: number | null): number {
    return Math.min(MAX_RETRY_DELAY_MS, retryAfterMs ?? retryDelayMs * 2 ** (attempt - 1));
  }

  /** Opens the stream once; yields its events; returns when it ends (or throws). */
  async function* streamOnce(sessionId: string, lastEventId: number | undefined, signal: AbortSignal | undefined, onRetry: (ms: number) => void) {
    const response = await doFetch(url(`/v1/sessions/${seg(sessionId)}/events`), {
      headers: { ...auth, accept: 'text/event-stream', ...(lastEventId !== undefined ? { 'last-event-id': String(lastEventId) } : {}) },
      ...(signal ? { signal } : {}),
    });
    if (!response.ok || !response.body) throw await apiErrorOf(response);
    for await (const raw of parseSse(response.body, onRetry)) {
      const data = JSON.parse(raw.data) as never;
      if (raw.event === 'commit') yield { type: 'commit', id: Number(raw.id), data } as SessionEvent;
      else if (raw.event === 'ready' || raw.event === 'session_closed') yield { type: raw.event, data } as SessionEvent;
    }
  }

  return {
    /** `POST /v1/sessions`: a task session with its limits. */
    createSession: (input: CreateSessionInput, o: CallOptions = {}) => call<TaskSession>({ method: 'POST', path: '/v1/sessions', body: input, retryable: false, signal: o.signal }),

    /** `GET /v1/sessions/:id`. */
    getSession: (sessionId: string, o: CallOptions = {}) => call<SessionView>({ method: 'GET', path: `/v1/sessions/${seg(sessionId)}`, retryable: true, signal: o.signal }),

    /** `POST /v1/sessions/:id/inputs`: turn input; retried with the same Idempotency-Key. */
    enqueue: (sessionId: string, input: TurnInput, o: IdempotentCallOptions = {}) =>
      call<QueuedWorkBatch>({
        method: 'POST',
        path: `/v1/sessions/${seg(sessionId)}/inputs`,
        body: input,
        headers: { 'idempotency-key': o.idempotencyKey ?? crypto.randomUUID() },
        retryable: true,
        signal: o.signal,
      }),

    /** `POST /v1/sessions/:id/commands`: reset_session or refresh_tool_catalog; retried with the same Idempotency-Key. */
    command: (sessionId: string, command: SessionCommandInput, o: IdempotentCallOptions = {}) =>
      call<QueuedWorkBatch>({
        method: 'POST',
        path: `/v1/sessions/${seg(sessionId)}/commands`,
        body: command,
        headers: { 'idempotency-key': o.idempotencyKey ?? crypto.randomUUID() },
        retryable: true,
        signal: o.signal,
      }),

    /** `GET /v1/sessions/:id/queue`. */
    /** One page of the session's queue, without payloads. */
    queue: (sessionId: string, query: { after?: string; limit?: number } = {}, o: CallOptions = {}) =>
      call<QueueView>({ method: 'GET', path: `/v1/sessions/${seg(sessionId)}/queue`, query, retryable: true, signal: o.signal }),

    /** `DELETE /v1/sessions/:id/batches/:batchId`: BATCH_NOT_FOUND, BATCH_HELD. */
    cancelBatch: (sessionId: string, batchId: string, o: CallOptions = {}) =>
      call<QueuedWorkBatch>({ method: 'DELETE', path: `/v1/sessions/${seg(sessionId)}/batches/${seg(batchId)}`, retryable: false, signal: o.signal }),

    /** `POST /v1/sessions/:id/close`. */
    closeSession: (sessionId: string, o: CallOptions & { agentId?: string } = {}) =>
      call<TaskSession>({
        method: 'POST',
        path: `/v1/sessions/${seg(sessionId)}/close`,
        body: o.agentId !== undefined ? { agentId: o.agentId } : {},
        retryable: false,
        signal: o.signal,
      }),

    /** `GET /v1/sessions` (operator): a page of sessions; pass `next` as `after` for the following one. */
    listSessions: (query: { after?: string; limit?: number; agentId?: string } = {}, o: CallOptions = {}) =>
      call<SessionList>({ method: 'GET', path: '/v1/sessions', query, headers: operatorAuth, retryable: true, signal: o.signal }),

    /** `GET /v1/dead-letters` (operator). */
    /** One page of dead letters, without payloads (`next`: the cursor of the following page, null at the end). */
    deadLetters: (query: { sessionId?: string; after?: string; limit?: number } = {}, o: CallOptions = {}) =>
      call<{ deadLetters: DeadLetter[]; next: string | null }>({ method: 'GET', path: '/v1/dead-letters', query, headers: operatorAuth, retryable: true, signal: o.signal }),

    /** `POST /v1/dead-letters/:batchId/requeue` (operator). */
    requeueDeadLetter: (batchId: string, o: CallOptions = {}) =>
      call<QueuedWorkBatch>({ method: 'POST', path: `/v1/dead-letters/${seg(batchId)}/requeue`, headers: operatorAuth, retryable: false, signal: o.signal }),

    /** `GET /healthz`. */
    health: (o: CallOptions = {}) => call<{ status: 'ok' }>({ method: 'GET', path: '/healthz', retryable: false, signal: o.signal }),

    /** `GET /readyz`: the answer, 200 or 503 alike (503 is an answer here, not a failure). */
    async ready(o: CallOptions = {}): Promise<Readiness> {
      const signal = AbortSignal.any([AbortSignal.timeout(timeoutMs), ...(o.signal ? [o.signal] : [])]);
      let response: Response;
      try {
        response = await doFetch(url('/readyz'), { signal });
      } catch (err) {
        throw new TurnlaneNetworkError(`GET /readyz: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      if (response.status !== 200 && response.status !== 503) throw await apiErrorOf(response);
      return (await response.json()) as Readiness;
    },

    /**
     * `GET /v1/sessions/:id/events` as an async iterator: `ready`, then each `commit` once, in
     * revision order, then `session_closed`, where the iteration ends. A dropped connection is
     * reopened with `Last-Event-ID` (after the server's `retry:` hint, 2 s), so commits made
     * meanwhile come next (`ready` is yielded once, not per reconnection). A 4xx answer (unknown session, bad key) throws TurnlaneApiError.
     */
    async *events(sessionId: string, o: EventsOptions = {}): AsyncGenerator<SessionEvent> {
      let lastEventId = o.afterRevision;
      let retryMs = 2_000;
      let failures = 0;
      let readySent = false;
      const maxReconnects = o.maxReconnects ?? 10;
      for (;;) {
        try {
          for await (const event of streamOnce(sessionId, lastEventId, o.signal, (ms) => (retryMs = ms))) {
            failures = 0;
            if (event.type === 'commit') lastEventId = event.id;
            // The server's ready event names where the stream starts: resume from there, not from the head of a later connection.
            if (event.type === 'ready' && lastEventId === undefined) lastEventId = event.data.headRevision;
            // Each reconnection opens with ready again; the caller sees the first one only.
            if (event.type === 'ready' && readySent) continue;
            readySent = true;
            yield event;
            if (event.type === 'session_closed') return;
          }
        } catch (err) {
          if (o.signal?.aborted) return;
          if (err instanceof TurnlaneApiError && err.status < 500 && err.status !== 429) throw err;
          if (++failures > maxReconnects) throw err instanceof TurnlaneApiError ? err : new TurnlaneNetworkError(`event stream of ${sessionId}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
        }
        if (o.signal?.aborted) return;
        await sleep(retryMs, o.signal).catch(() => {});
        if (o.signal?.aborted) return;
      }
    },
  };
}
