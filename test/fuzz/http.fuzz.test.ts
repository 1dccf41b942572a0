/**
 * Fuzzing of every HTTP route (spec 06 "Bad input") against a real `turnlane server` process on
 * this file's own database and BullMQ prefix. The route list is the app's own (routeInventory:
 * automatic HEAD routes and Bull Board's included) and every route needs a model below, so a new
 * route cannot escape. Requests carry arbitrary and near-valid JSON, huge strings, deep nesting,
 * bodies over the configured limit, malformed JSON, wrong content types, odd ids in the path
 * (`..`, percent-encoded bytes, unicode, 10 kB, markup), odd query strings and junk headers, with
 * each kind of credentials and none.
 *
 * The oracle uses the server's own zod schemas, id checks and authenticator to tell which
 * requests must be refused. Two tenants with store API keys (issue 14) and the environment key's
 * default tenant each own sessions holding a secret marker; a request with one tenant's key must
 * never answer another tenant's marker nor change a row of another tenant's sessions. Checked for
 * every request: an answer within REQUEST_TIMEOUT_MS and
 * never a 5xx; a refusal is a typed 4xx (`{ error: { code, message, details } }` with the status
 * of spec 04/05, or the dashboard's HTML page for a browser) and leaves Postgres and Redis
 * exactly as they were; a 2xx or 3xx only where the input is valid. After each route: /healthz
 * and /readyz answer and the server logged no error. Knobs: TURNLANE_HTTP_FUZZ_RUNS (runs per
 * route, default 40: about 3,300 requests in 15 s), TURNLANE_HTTP_FUZZ_VERBOSE=1 (a status table
 * per route).
 */
import { DOCS_PREFIX } from '../../src/server/openapi.js';
import { Agent } from 'node:http';
import { connect } from 'node:net';
import fc from 'fast-check';
import type { FastifyRequest } from 'fastify';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { fastifyCookie } from '@fastify/cookie';
import { createAuthenticator, SESSION_COOKIE, type Principal } from '../../src/server/auth.js';
import { createLoginThrottle } from '../../src/server/login-throttle.js';
import { CSRF_COOKIE, XSRF_COOKIE } from '../../src/server/security.js';
import { BULL_BOARD_PATH } from '../../src/server/dashboard/bull-board.js';
import { batchIdParam, batchParams, closeBody, commandBody, createSessionBody, deadLetterQuery, eventsQuery, idempotencyKey, inputBody, listQuery, queueQuery } from '../../src/server/schemas.js';
import { parseDeadLetterCursor } from '../../src/server/paging.js';
import { turnInputDraft } from '../../src/store/drafts.js';
import { assertSessionId, assertStorableText } from '../../src/store/validate.js';
import { createRuntimeFixture, type RuntimeFixture } from '../helpers/runtime.js';
import { secretDigest } from '../../src/server/auth.js';
import { basic, bearer, credentialsEnv, OPERATOR, PRODUCER_KEY, routeInventory, sendRaw, startServerProcess, type RawResponse, type RouteEntry, type ServerProcess } from '../helpers/server.js';

const RUNS = Number(process.env.TURNLANE_HTTP_FUZZ_RUNS ?? 40);
/** Small, so bodies over it are cheap to send; inputs near the store's 256 kB batch limit are the e2e test's. */
const BODY_LIMIT = 16 * 1024;
const REQUEST_TIMEOUT_MS = 5_000;

const inventory = await routeInventory();

// --- Route models -------------------------------------------------------------------------

/** Who may call a route: nobody in particular, producers (and operators), operators only. */
type Access = 'public' | 'producer' | 'operator';

interface RouteModel {
  access: Access;
  /** Answers are HTML for a browser (Accept: text/html) and may redirect (303 after a form). */
  dashboard?: boolean;
  /** Bull Board's API: its UI reads `{ error: string }`, so its own refusals keep that shape. */
  bullBoard?: boolean;
  /** The JSON body the handler parses with `parse()` (an absent body counts as `{}`). */
  body?: z.ZodObject;
  query?: z.ZodType;
  /** A valid body, mutated by the generators; 'FRESH' becomes a new id at send time. */
  template?: Record<string, unknown>;
  /** Reads `Idempotency-Key`. */
  idempotency?: boolean;
  /** A dashboard form: needs the session's CSRF token. */
  form?: boolean;
  /** Extra checks the handler makes (throws when the request must be refused). */
  check?: (params: Record<string, string>, query: Record<string, unknown>) => void;
}

const sessionIdOk = (params: Record<string, string>) => assertSessionId(params.id, 'params.id');

const MODELS: Record<string, RouteModel> = {
  'GET /healthz': { access: 'public' },
  'GET /readyz': { access: 'public' },
  'GET /metrics': { access: 'public' },
  'GET /openapi.json': { access: 'public' },
  'POST /v1/sessions': {
    access: 'producer',
    body: createSessionBody,
    template: { sessionId: 'FRESH', agentId: 'fz-agent', authorizedTools: ['search'], callBudget: 3, timeLimitMs: 600_000 },
  },
  'GET /v1/sessions': { access: 'operator', query: listQuery },
  'GET /v1/sessions/:id': { access: 'producer', check: sessionIdOk },
  'POST /v1/sessions/:id/close': { access: 'producer', body: closeBody, template: { agentId: 'fz-agent' }, check: sessionIdOk },
  'POST /v1/sessions/:id/inputs': {
    access: 'producer',
    body: inputBody,
    template: { text: 'hello', deliveryPolicy: 'after_current_turn_commit', slotPolicy: 'join', mergeKey: 'm', sensitivity: 'public' },
    idempotency: true,
    check: sessionIdOk,
  },
  'POST /v1/sessions/:id/commands': { access: 'producer', body: commandBody, template: { kind: 'refresh_tool_catalog', reason: 'fuzz' }, idempotency: true, check: sessionIdOk },
  'GET /v1/sessions/:id/queue': { access: 'producer', query: queueQuery, check: sessionIdOk },
  'DELETE /v1/sessions/:id/batches/:batchId': { access: 'producer', check: (p) => void (batchParams.parse(p), sessionIdOk(p)) },
  'GET /v1/sessions/:id/events': { access: 'producer', query: eventsQuery, check: sessionIdOk },
  'GET /v1/dead-letters': {
    access: 'producer',
    query: deadLetterQuery,
    check: (_p, q) => {
      if (q.sessionId !== undefined) assertSessionId(q.sessionId);
      parseDeadLetterCursor(typeof q.after === 'string' ? q.after : undefined, 'query.after');
    },
  },
  'POST /v1/dead-letters/:batchId/requeue': { access: 'producer', check: (p) => void batchIdParam.parse(p) },
  'GET /admin/login': { access: 'public', dashboard: true },
  'POST /admin/login': { access: 'public', dashboard: true, template: { user: OPERATOR.user, password: OPERATOR.password, next: '/admin/sessions' } },
  'GET /admin': { access: 'operator', dashboard: true },
  'POST /admin/logout': { access: 'operator', dashboard: true, form: true },
  'GET /admin/sessions': { access: 'operator', dashboard: true, check: (_p, q) => typeof q.agent === 'string' && assertStorableText(q.agent.trim(), 'agent') },
  'GET /admin/sessions/:id': { access: 'operator', dashboard: true, check: sessionIdOk },
  'POST /admin/sessions/:id/batches/:batchId/cancel': { access: 'operator', dashboard: true, form: true, check: sessionIdOk },
  'POST /admin/sessions/:id/close': { access: 'operator', dashboard: true, form: true, check: sessionIdOk },
  'GET /admin/dead-letters': { access: 'operator', dashboard: true },
  'POST /admin/dead-letters/:batchId/requeue': { access: 'operator', dashboard: true, form: true, template: { back: 'fz-dead' } },
};

/** Bull Board's pages and API, whatever routes its version registers: operator-only, any input. */
const BULL_BOARD_MODEL: RouteModel = { access: 'operator', dashboard: true, bullBoard: true };
/** Valid bodies of the Bull Board routes that read one, for the generators to mutate. */
const BULL_BOARD_TEMPLATES: Record<string, Record<string, unknown>> = {
  'POST /add': { name: 'fz-job', data: { batchId: 'none' }, options: { delay: 60_000, priority: 1, attempts: 1 } },
  'PUT /concurrency': { concurrency: 1 },
  'PATCH /update-data': { jobData: { batchId: 'none' } },
};

/** The model of a registered route: its own, its GET's for an automatic HEAD, or Bull Board's. */
function modelOf(route: RouteEntry): RouteModel | undefined {
  if (route.url === BULL_BOARD_PATH || route.url.startsWith(`${BULL_BOARD_PATH}/`)) {
    const template = BULL_BOARD_TEMPLATES[`${route.method} ${route.url.slice(route.url.lastIndexOf('/'))}`];
    return template ? { ...BULL_BOARD_MODEL, template } : BULL_BOARD_MODEL;
  }
  // The API reference (Swagger UI): its page, assets and document copies, public, any input.
  if (route.url === DOCS_PREFIX || route.url.startsWith(`${DOCS_PREFIX}/`)) return { access: 'public', dashboard: true };
  return MODELS[`${route.method} ${route.url}`] ?? (route.method === 'HEAD' ? MODELS[`GET ${route.url}`] : undefined);
}

// --- Generators -----------------------------------------------------------------------------

/** Percent-encodes the UTF-8 of a string (a lone surrogate becomes U+FFFD, as a browser sends it). */
const encode = (value: string) => [...Buffer.from(value, 'utf8')].map((b) => (/[A-Za-z0-9._~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');

const XSS = '<img src=x onerror=alert(1)>';
const oddStrings = fc.oneof(
  fc.constantFrom('', ' ', '.', '..', 'a'.repeat(129), 'a'.repeat(257), 'x'.repeat(5000), '\u0000', 'a\u0000b', '\ud800', 'a\udfffb', '😀', 'é', '../etc/passwd',
    "'; drop table task_sessions; --", XSS, '%00', '\\', '"', '\n', 'ＡＢＣ', '\u202e', 'null', '__proto__', 'constructor', 'fz-live', 'fz-agent'),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
);
const deep = (depth: number, leaf: unknown = 1): unknown => (depth === 0 ? leaf : { a: deep(depth - 1, leaf) });
const wrongTypes = fc.oneof(
  fc.constantFrom<unknown>(null, true, 0, -1, 1.5, 2 ** 31, 2 ** 53, -(2 ** 63), 1e308, [], {}, [1], ['search', 'search'], { kind: 'group' }, { kind: 'never' }, [{ type: 'text', text: 'x' }]),
  fc.integer({ min: 1, max: 400 }).map((n) => deep(n)),
  fc.jsonValue({ maxDepth: 3 }),
);
const oddValue = fc.oneof(oddStrings, wrongTypes);

/** Path segments as sent (raw): odd ids, encoded arbitrary text, and the ids the fixture made real. */
const realIds: Record<string, string[]> = {
  id: ['fz-live', 'fz-closed', 'fz-dead', 'fz-a-live', 'fz-b-live', 'fz-b-dead'],
  batchId: [],
  jobId: [],
  queueName: ['turnlane.turns'],
  queueStatus: ['latest', 'active', 'waiting', 'completed', 'failed', 'delayed', 'paused'],
};
const segment = (name: string) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('', '.', '..', '...', '%2e%2e', '..%2F..%2Fetc%2Fpasswd', '%00', 'a%00b', '%FF', '%E0%A4%A', '%', '%%41', '%u0041', 'a%20b', '%0d%0aSet-Cookie:x=1',
      encode(XSS), encode('😀'), encode('é'), encode('\u202e'), encode('\ud800'), 'x'.repeat(129), 'x'.repeat(256), 'x'.repeat(257), 'x'.repeat(301), 'x'.repeat(10_000), '__proto__', 'constructor',
      'null', '-1', '1e999', ';', ',', '*', '~', ':', 'a:b.c-d_e', 'turnlane.turns', 'latest', 'completed', 'failed') },
    { weight: 3, arbitrary: oddStrings.filter((s) => s !== '').map(encode) },
    { weight: 3, arbitrary: fc.constantFrom(...(realIds[name]?.length ? realIds[name] : ['none'])) },
  );

/** Dashboard and Bull Board query keys besides each route's schema keys. */
const EXTRA_QUERY_KEYS = ['after', 'agent', 'notice', 'error', 'next', 'activeQueue', 'status', 'page', 'jobsPerPage', 'sessionId', 'limit', 'agentId', 'afterRevision', 'x'];
type Query = { pairs: Array<[string, string]> } | { raw: string };
const queryArb: fc.Arbitrary<Query> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<Query>({ pairs: [] }) },
  {
    weight: 6,
    arbitrary: fc
      .array(fc.tuple(fc.constantFrom(...EXTRA_QUERY_KEYS), fc.oneof(oddStrings, fc.constantFrom('1', '0', '-1', '1.5', '1000', '1001', '1e3', '0x10', ' 5', 'NaN', 'Infinity', '9007199254740993', '/admin/x'))), { maxLength: 3 })
      .map((pairs) => ({ pairs })),
  },
  { weight: 1, arbitrary: fc.constantFrom('?', '?&&', '?=', '?=x', '?a=%ZZ', '?%00=1', '?__proto__=1', '?constructor=1', '?after=%E0%A4%A', '?limit=%00', `?next=${'x'.repeat(5000)}`).map((raw) => ({ raw })) },
);

type Auth = 'right' | 'producer' | 'operator' | 'cookie' | 'none' | 'wrong-key' | 'junk' | 'tenant-a' | 'tenant-b';
const authArb = fc.oneof(
  { weight: 10, arbitrary: fc.constant<Auth>('right') },
  { weight: 6, arbitrary: fc.constantFrom<Auth>('tenant-a', 'tenant-b') },
  { weight: 4, arbitrary: fc.constantFrom<Auth>('producer', 'operator', 'cookie', 'none', 'wrong-key') },
  { weight: 2, arbitrary: fc.constant<Auth>('junk') },
);
const junkAuthorization = fc.oneof(
  fc.constantFrom('', 'Basic', 'Basic ', 'Bearer', 'Bearer  ', 'Basic !!!', 'Digest x', `Basic ${Buffer.from(':').toString('base64')}`, `Basic ${Buffer.from('ops:wrong').toString('base64')}`,
    `Basic ${Buffer.from('nobody:x').toString('base64')}`, `bearer ${PRODUCER_KEY}`, `Bearer ${PRODUCER_KEY.toUpperCase()}`, `Bearer ${PRODUCER_KEY} x`, `Bearer ${'k'.repeat(3000)}`),
  fc.string({ maxLength: 60 }).map((s) => `Bearer ${s}`),
);
/** Header values Node will send: tab, printable ASCII and Latin-1. */
const headerValue = fc.oneof(
  fc.string({ unit: fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff })).map((c) => String.fromCharCode(c)), maxLength: 40 }),
  // Request line and headers stay under Node's 16 kB (a regression example below goes over).
  fc.constantFrom('', ' ', 'FRESH', 'FRESH', 'k'.repeat(256), 'k'.repeat(257), 'k'.repeat(1500), XSS, "'; drop table source_keys; --", 'é', '\t'),
);
const headersArb = fc.record(
  {
    'idempotency-key': fc.oneof(headerValue, fc.array(headerValue, { minLength: 2, maxLength: 2 })),
    'x-request-id': headerValue,
    accept: fc.constantFrom('application/json', 'text/html', 'text/html,application/xhtml+xml', '*/*', '', 'text/event-stream', 'image/png'),
    'last-event-id': fc.constantFrom('-1', '1e999', 'abc', '99999999999999999999', '0', '', '2'),
    cookie: fc.constantFrom(`${SESSION_COOKIE}=a.b.c`, `${SESSION_COOKIE}=%E0%A4%A`, `${SESSION_COOKIE}=...`, `${SESSION_COOKIE}=${'x'.repeat(1500)}`, '=; ;;', 'a=b'),
  },
  { requiredKeys: [] },
);

type Body =
  | { kind: 'none' }
  | { kind: 'json'; value: unknown }
  | { kind: 'raw'; contentType: string | null; data: string | Buffer; judged: boolean };

const judgedTypes = ['application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream', 'application/xml', 'multipart/form-data; boundary=x'];
/** Bodies whose fate depends on details of Fastify's parsers (a BOM is skipped, a type's case…). */
const unjudgedTypes = ['APPLICATION/JSON', 'application/json; charset=latin1', 'application/vnd.api+json', 'application/jsonx', 'text/json', ';', ''];
const malformedJson = ['{"text": ', '{', '[', 'nul', '{"a":1,}', "{'a':1}", '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}', '1e999999', '"\\ud800"', 'NaN', '', '{"text":"\\u0000"}', '[1,2', '{"a":"b"}}'];

function bodyArb(model: RouteModel): fc.Arbitrary<Body> {
  const fields = Object.keys(model.body?.shape ?? model.template ?? {});
  const template = model.template ?? {};
  const nearValid: fc.Arbitrary<unknown> =
    fields.length === 0
      ? fc.jsonValue({ maxDepth: 2 })
      : fc.oneof(
          fc.record({ field: fc.constantFrom(...fields), value: oddValue }).map(({ field, value }) => ({ ...template, [field]: value })),
          fc.constantFrom(...fields).map((field) => Object.fromEntries(Object.entries(template).filter(([k]) => k !== field))),
          fc.record({ key: fc.oneof(fc.constantFrom('surprise', '__proto__x', ''), fc.string({ maxLength: 8 })), value: fc.jsonValue({ maxDepth: 1 }) }).map(({ key, value }) => ({ ...template, [key]: value })),
          fc.constant(template),
        );
  const json = (value: fc.Arbitrary<unknown>): fc.Arbitrary<Body> => value.map((v) => ({ kind: 'json' as const, value: v }));
  const csrf = fc.constantFrom('RIGHT', 'RIGHT', 'wrong', '');
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant<Body>({ kind: 'none' }) },
    { weight: 6, arbitrary: json(model.form ? fc.tuple(nearValid, csrf).map(([v, c]) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? { ...v, csrf: c } : v)) : nearValid) },
    { weight: 3, arbitrary: json(fc.jsonValue({ maxDepth: 4 })) },
    { weight: 1, arbitrary: json(fc.integer({ min: 5_000, max: BODY_LIMIT - 400 }).map((n) => ({ ...template, [fields[0] ?? 'text']: 'é'.repeat(n / 2) }))) },
    { weight: 1, arbitrary: fc.integer({ min: 1000, max: Math.floor(BODY_LIMIT / 2) - 10 }).map((n): Body => ({ kind: 'raw', contentType: 'application/json', data: `${'['.repeat(n)}${']'.repeat(n)}`, judged: true })) },
    { weight: 2, arbitrary: fc.integer({ min: BODY_LIMIT + 1, max: BODY_LIMIT * 4 }).map((n): Body => ({ kind: 'raw', contentType: 'application/json', data: JSON.stringify({ ...template, text: 'x'.repeat(n) }), judged: true })) },
    { weight: 2, arbitrary: fc.constantFrom(...malformedJson).map((data): Body => ({ kind: 'raw', contentType: 'application/json', data, judged: true })) },
    { weight: 1, arbitrary: fc.constant<Body>({ kind: 'raw', contentType: 'application/json', data: Buffer.from([0x7b, 0x22, 0x74, 0x65, 0x78, 0x74, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), judged: true }) },
    {
      weight: 3,
      arbitrary: fc
        .record({ contentType: fc.constantFrom(...judgedTypes, ...unjudgedTypes), data: fc.oneof(nearValid.map((v) => JSON.stringify(v) ?? ''), fc.constantFrom('csrf=RIGHT&back=fz-dead', `user=${OPERATOR.user}&password=${encodeURIComponent(OPERATOR.password)}&next=%2Fadmin`, 'a=1&a=2', 'agentId=fz-agent', '<x/>', '--x--')) })
        .map(({ contentType, data }): Body => ({ kind: 'raw', contentType, data, judged: judgedTypes.includes(contentType) })),
    },
    { weight: 1, arbitrary: fc.constant<Body>({ kind: 'raw', contentType: null, data: '{"text":"no content type"}', judged: false }) },
    { weight: 1, arbitrary: fc.constant<Body>({ kind: 'raw', contentType: 'application/json', data: `\uFEFF${JSON.stringify(template)}`, judged: false }) },
  );
}

interface Case {
  params: Record<string, string>;
  query: Query;
  auth: Auth;
  authorization: string;
  headers: Record<string, string | string[]>;
  body: Body;
}

const paramNames = (url: string) => [...url.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1]!).concat(url.endsWith('*') ? ['*'] : []);

function caseArb(route: RouteEntry, model: RouteModel): fc.Arbitrary<Case> {
  const params = Object.fromEntries(
    paramNames(route.url).map((name) => [name, name === '*' ? fc.constantFrom('x', 'index.html', '../package.json', '..%2F..%2Fpackage.json', 'static/../../package.json', '%00', encode(XSS)) : segment(name)]),
  );
  return fc.record({ params: fc.record(params), query: queryArb, auth: authArb, authorization: junkAuthorization, headers: headersArb, body: bodyArb(model) });
}

// --- Oracle ---------------------------------------------------------------------------------

const authenticator = createAuthenticator({
  apiKeySha256: [credentialsEnv().API_KEY_SHA256!],
  operatorCredentials: [credentialsEnv().OPERATOR_CREDENTIALS!],
  sessionSecret: credentialsEnv().OPERATOR_SESSION_SECRET!,
  insecureLocal: false,
  // The server under test is started with these limits too (LOGIN_LIMITS): the fuzzer's wrong passwords never throttle it.
  loginThrottle: createLoginThrottle({ perUser: 1e9, perAddress: 1e9, windowMs: 60_000 }),
});
const LOGIN_LIMITS = { OPERATOR_LOGIN_FAILURES_PER_USER: '1000000000', OPERATOR_LOGIN_FAILURES_PER_ADDRESS: '1000000000' };
/** The server's login session (a cookie of its own memory) stands for this session of the oracle's authenticator. */
const oracleSessionId = authenticator.sessions.create(OPERATOR.user, Date.now());
const parseCookie = (header: string) => fastifyCookie.parse(header);
const fakeRequest = (headers: Record<string, unknown>) => {
  const cookieHeader = [headers.cookie ?? ''].flat().join('; ');
  const cookies = parseCookie(cookieHeader);
  const loginValue = parseCookie(operatorCookie)[SESSION_COOKIE];
  return {
    headers,
    ip: '127.0.0.1',
    cookies,
    unsignCookie: (value: string) => (value === loginValue ? { valid: true, renew: false, value: oracleSessionId } : { valid: false, renew: false, value: null }),
  } as unknown as FastifyRequest;
};

/** Store API keys of two tenants (created in beforeAll), and the secret marker in each tenant's sessions. */
const TENANT_KEYS = { 'fz-a': 'tlk_fuzz-tenant-a-key-000000000000000000000', 'fz-b': 'tlk_fuzz-tenant-b-key-000000000000000000000' } as const;
const SECRETS: Record<string, string> = { default: 'fz-secret-of-default', 'fz-a': 'fz-secret-of-a', 'fz-b': 'fz-secret-of-b' };

/** Who the server takes the request for: the environment's credentials, or a tenant's store key. */
async function principalOf(headers: Record<string, unknown>): Promise<Principal | null> {
  const known = await authenticator.identify(fakeRequest(headers));
  if (known) return known;
  const match = typeof headers.authorization === 'string' ? /^bearer (.+)$/i.exec(headers.authorization) : null;
  const tenant = Object.entries(TENANT_KEYS).find(([, key]) => key === match?.[1]?.trim())?.[0];
  return tenant ? { kind: 'producer', tenantId: tenant, agentIds: null, keyId: tenant } : null;
}
let operatorCookie = '';
/** The CSRF secret cookie and a token of the operator's, taken from a dashboard page at setup. */
let csrfCookie = '';
let csrfToken = '';

/** What the server must do: refuse (with this status, when it is certain), or anything but a 5xx. */
type Verdict = { refuse: true; status?: number; why: string } | { refuse: false };

function decodeSegment(raw: string): string | null {
  try {
    return decodeURIComponent(raw);
  } catch {
    return null;
  }
}

/** The body as Fastify hands it to the handler, or why Fastify refuses it; null: not judged. */
function parsedBody(body: Body, method: string): { value: unknown } | { refused: string; status?: number } | null {
  if (!['POST', 'PUT', 'PATCH'].includes(method)) return null;
  if (body.kind === 'none') return { value: undefined };
  if (body.kind === 'json') return parsedBody({ kind: 'raw', contentType: 'application/json', data: JSON.stringify(body.value), judged: true }, method);
  if (!body.judged || body.contentType === null) return null;
  const text = Buffer.isBuffer(body.data) ? new TextDecoder().decode(body.data) : body.data;
  const type = body.contentType.split(';')[0]!;
  if (!['application/json', 'text/plain', 'application/x-www-form-urlencoded'].includes(type)) return text === '' ? null : { refused: 'unsupported content type' };
  if (Buffer.byteLength(body.data) > BODY_LIMIT) return { refused: 'body over the limit', status: 413 };
  if (type === 'text/plain') return { value: text };
  if (type === 'application/x-www-form-urlencoded') return { value: Object.fromEntries(new URLSearchParams(text)) };
  try {
    const value: unknown = JSON.parse(text);
    return poisoned(value) ? { refused: 'prototype poisoning' } : { value };
  } catch (err) {
    // Nesting deeper than this worker thread's stack: the server's main thread may parse it.
    return err instanceof RangeError ? null : { refused: 'malformed JSON' };
  }
}

function poisoned(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (Object.hasOwn(value, '__proto__')) return true;
  const ctor = (value as Record<string, unknown>).constructor;
  if (Object.hasOwn(value, 'constructor') && typeof ctor === 'object' && ctor !== null && Object.hasOwn(ctor, 'prototype')) return true;
  return Object.values(value).some(poisoned);
}

/** A zod result the server accepts: parsed, and every string storable (no NUL, no lone surrogate). */
function storable(result: { success: boolean; data?: unknown }): boolean {
  if (!result.success) return false;
  try {
    assertStorableText(result.data, 'x');
    return true;
  } catch {
    return false;
  }
}

function headerSeen(value: string | string[]): string {
  return [value].flat().map((v) => v.replace(/^[\t ]+|[\t ]+$/g, '')).join(', ');
}

async function verdict(route: RouteEntry, model: RouteModel, c: Case, path: string, headers: Record<string, string | string[]>, body: Body): Promise<Verdict> {
  // Node refuses a request line and headers over 16 kB (431) before anything else looks at them.
  const head = path.length + Object.entries(headers).reduce((n, [k, v]) => n + k.length + [v].flat().join('').length + 4, 0);
  if (head > 16_000) return { refuse: true, why: 'request line and headers near 16 kB' };
  // Routing: a parameter over maxParamLength (300) matches no route.
  if (Object.values(c.params).some((raw) => raw.length > 300)) return { refuse: true, status: 400, why: 'parameter too long for the router' };
  const exact = head < 14_000 && Object.values(c.params).every((raw) => raw.length <= 250);
  // The router decodes the path before any hook runs: a malformed one is refused before credentials are.
  const params: Record<string, string> = {};
  for (const [name, raw] of Object.entries(c.params)) {
    const decoded = decodeSegment(raw);
    if (decoded === null) return { refuse: true, status: 400, why: 'malformed percent-encoding in the path' };
    params[name] = decoded;
  }
  const principal: Principal | null = await principalOf(headers);
  if (model.access !== 'public') {
    if (!principal) return { refuse: true, status: exact ? 401 : undefined, why: 'no valid credentials' };
    if (model.access === 'operator' && principal.kind === 'producer') return { refuse: true, status: exact ? 403 : undefined, why: 'producer key on an operator route' };
  }
  const parsed = parsedBody(body, route.method);
  if (parsed && 'refused' in parsed) return { refuse: true, status: exact ? parsed.status : undefined, why: parsed.refused };
  try {
    model.check?.(params, {});
  } catch {
    return { refuse: true, why: 'invalid path parameter' };
  }
  if ('pairs' in c.query) {
    const query: Record<string, string | string[]> = {};
    for (const [k, v] of c.query.pairs) query[k] = k in query ? [query[k]!].flat().concat(decodeSegment(encode(v))!) : decodeSegment(encode(v))!;
    if (model.query && !storable(model.query.safeParse(query))) return { refuse: true, why: 'invalid query' };
    try {
      model.check?.(params, query);
    } catch {
      return { refuse: true, why: 'invalid query' };
    }
  }
  if (model.body && parsed) {
    if (!storable(model.body.safeParse(parsed.value ?? {}))) return { refuse: true, why: 'invalid body' };
  }
  if (model.idempotency && headers['idempotency-key'] !== undefined && !idempotencyKey.safeParse(headerSeen(headers['idempotency-key'])).success) {
    return { refuse: true, why: 'invalid Idempotency-Key' };
  }
  if (model.form && parsed) {
    const form = parsed.value as { csrf?: unknown } | undefined;
    if (form?.csrf !== csrfToken) return { refuse: true, status: exact ? 403 : undefined, why: 'CSRF token missing or wrong' };
  }
  return { refuse: false };
}

// --- Requests -------------------------------------------------------------------------------

let fresh = 0;
function materialise(route: RouteEntry, model: RouteModel, c: Case): { path: string; headers: Record<string, string | string[]>; body: Body; payload?: string | Buffer } {
  const path = route.url.replace(/:([A-Za-z]+)/g, (_m, name: string) => c.params[name]!).replace(/\*$/, () => c.params['*']!);
  const query = 'raw' in c.query ? c.query.raw : c.query.pairs.length === 0 ? '' : `?${c.query.pairs.map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&')}`;
  const headers: Record<string, string | string[]> = { ...c.headers };
  const idem = headers['idempotency-key'];
  if (idem !== undefined) headers['idempotency-key'] = [idem].flat().map((v) => (v === 'FRESH' ? `fz-key-${fresh++}` : v));
  const credentials: Record<Exclude<Auth, 'right'>, string | undefined> = {
    producer: `Bearer ${PRODUCER_KEY}`,
    operator: `Basic ${Buffer.from(`${OPERATOR.user}:${OPERATOR.password}`).toString('base64')}`,
    cookie: undefined,
    none: undefined,
    'wrong-key': 'Bearer tl-wrong-key',
    junk: c.authorization,
    'tenant-a': `Bearer ${TENANT_KEYS['fz-a']}`,
    'tenant-b': `Bearer ${TENANT_KEYS['fz-b']}`,
  };
  const auth = c.auth === 'right' ? ({ public: 'none', producer: 'producer', operator: 'operator' } as const)[model.access] : c.auth;
  if (credentials[auth] !== undefined) headers.authorization = credentials[auth]!;
  if (auth === 'cookie') headers.cookie = operatorCookie;
  // The browser's CSRF secret cookie goes with operator credentials; whether the token is right is the case's choice.
  if (auth === 'cookie' || auth === 'operator') headers.cookie = [headers.cookie ?? [], csrfCookie].flat().join('; ');
  // Bull Board's writes carry the token in a header, as its UI does.
  if (model.bullBoard && !['GET', 'HEAD'].includes(route.method)) headers['x-xsrf-token'] = csrfToken;
  const freshen = (v: unknown): unknown => (v === 'FRESH' ? `fz-new-${fresh++}` : v === 'RIGHT' ? csrfToken : v);
  let body = c.body;
  if (body.kind === 'json' && typeof body.value === 'object' && body.value !== null && !Array.isArray(body.value)) {
    body = { kind: 'json', value: Object.fromEntries(Object.entries(body.value).map(([k, v]) => [k, freshen(v)])) };
  } else if (body.kind === 'raw' && typeof body.data === 'string' && body.data.includes('csrf=RIGHT')) {
    body = { ...body, data: body.data.replace('csrf=RIGHT', `csrf=${encodeURIComponent(String(freshen('RIGHT')))}`) };
  }
  if (body.kind === 'json') {
    headers['content-type'] = 'application/json';
    return { path: path + query, headers, body, payload: JSON.stringify(body.value) };
  }
  if (body.kind === 'raw') {
    if (body.contentType !== null) headers['content-type'] = body.contentType;
    return { path: path + query, headers, body, payload: body.data };
  }
  return { path: path + query, headers, body };
}

// --- What every answer must look like ---------------------------------------------------------

/** Every code the server answers with and its status (spec 04's mapping, 400 invalid input, the HTTP layer's own). */
const STATUS_OF: Record<string, number> = {
  INVALID_INPUT: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  CSRF: 403,
  AGENT_MISMATCH: 403,
  TOOL_NOT_AUTHORIZED: 403,
  SENSITIVITY_EXCEEDED: 403,
  NOT_FOUND: 404,
  SESSION_NOT_FOUND: 404,
  BATCH_NOT_FOUND: 404,
  DEAD_LETTER_NOT_FOUND: 404,
  SESSION_CLOSED: 409,
  SESSION_ALREADY_EXISTS: 409,
  BATCH_HELD: 409,
  JOB_STATE_CONFLICT: 409,
  SESSION_EXPIRED: 410,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  HEADERS_TOO_LARGE: 431,
  BUDGET_EXCEEDED: 429,
  RATE_LIMITED: 429,
  TOO_MANY_SESSIONS: 429,
};

const INTERNAL_MESSAGE = 'internal error';

/** Whether the answer is a refusal; fails the test when it is malformed. */
function judgeAnswer(what: string, model: RouteModel, method: string, accept: string, res: RawResponse): boolean {
  expect(res.status, `${what}: a 5xx\n${res.body.slice(0, 500)}`).toBeLessThan(500);
  if (res.status >= 300 && res.status < 400) {
    expect(model.dashboard, `${what}: a redirect from a route that does not redirect`).toBe(true);
    const location = String(res.headers.location ?? '');
    expect(location.startsWith('/admin') || location.startsWith(DOCS_PREFIX), `${what}: redirect off the dashboard: ${location}`).toBe(true);
    const error = new URL(location, 'http://x').searchParams.get('error');
    expect(error ?? '', `${what}: an internal error behind a redirect`).not.toContain(INTERNAL_MESSAGE);
    return error !== null;
  }
  if (res.status < 300) return false;
  const type = String(res.headers['content-type'] ?? '');
  if (model.dashboard && type.startsWith('text/html')) {
    expect(accept.includes('text/html'), `${what}: an HTML error page for a client that did not ask for HTML`).toBe(true);
    return true;
  }
  expect(type, `${what}: a ${res.status} that is not JSON`).toMatch(/^application\/json/);
  if (method === 'HEAD') return true;
  const json = JSON.parse(res.body) as { error?: unknown; code?: unknown };
  if (model.bullBoard && typeof json.error === 'string') {
    // Bull Board's own shape, which its UI shows; ours add a code.
    if (json.code !== undefined) expect(STATUS_OF[json.code as string], `${what}: code ${String(json.code)} with status ${res.status}`).toBe(res.status);
    return true;
  }
  const error = json.error as { code?: unknown; message?: unknown; details?: unknown };
  expect(typeof error?.code, `${what}: untyped error ${res.body.slice(0, 300)}`).toBe('string');
  expect(typeof error.message).toBe('string');
  expect(typeof error.details).toBe('object');
  expect(STATUS_OF[error.code as string], `${what}: code ${String(error.code)} with status ${res.status}`).toBe(res.status);
  return true;
}

// --- The fixture: database, server, writes ------------------------------------------------------

let f: RuntimeFixture;
let server: ServerProcess;
let sql: postgres.Sql;
let footprintQuery = '';
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const stats = new Map<string, { requests: number; refused: number; accepted: number; statuses: Map<number, number> }>();

/** Postgres and Redis as a digest: every row of every table, every key of this file's prefix. */
async function footprint(): Promise<string> {
  const rows = await sql.unsafe<Array<{ t: string; h: string }>>(footprintQuery);
  const redis = (await f.redis.eval(REDIS_DIGEST, 0, `${f.settings.prefix}:*`)) as string;
  return JSON.stringify([rows.map((r) => `${r.t}:${r.h}`), redis]);
}

const REDIS_DIGEST = `
local keys = redis.call('KEYS', ARGV[1])
table.sort(keys)
local parts = {}
for _, k in ipairs(keys) do
  local t = redis.call('TYPE', k).ok
  local v = t
  if t == 'string' then v = redis.call('GET', k)
  elseif t == 'hash' then local h = redis.call('HGETALL', k); v = table.concat(h, '\\0')
  elseif t == 'list' then v = table.concat(redis.call('LRANGE', k, 0, -1), '\\0')
  elseif t == 'set' then local m = redis.call('SMEMBERS', k); table.sort(m); v = table.concat(m, '\\0')
  elseif t == 'zset' then v = table.concat(redis.call('ZRANGE', k, 0, -1, 'WITHSCORES'), '\\0')
  elseif t == 'stream' then v = tostring(redis.call('XLEN', k)) end
  parts[#parts + 1] = k .. '=' .. redis.sha1hex(v)
end
return redis.sha1hex(table.concat(parts, '\\n'))`;

/** Every row of the sessions other tenants own, as a digest (session-scoped tables and the owner rows). */
async function othersFootprint(tenantId: string): Promise<string> {
  const rows = await sql.unsafe<Array<{ t: string; h: string }>>(othersFootprintQuery, [tenantId]);
  return rows.map((r) => `${r.t}:${r.h}`).join(' ');
}
let othersFootprintQuery = '';

/** How much of the server's log the last check read. */
let logChecked = 0;

async function expectServing(): Promise<void> {
  expect(server.child.exitCode, 'the server process exited').toBeNull();
  expect(server.child.signalCode).toBeNull();
  const health = await sendRaw(server.url, { method: 'GET', path: '/healthz', headers: {} }, { agent, timeoutMs: REQUEST_TIMEOUT_MS });
  expect(health).toMatchObject({ status: 200, body: JSON.stringify({ status: 'ok' }) });
  const ready = await sendRaw(server.url, { method: 'GET', path: '/readyz', headers: {} }, { agent, timeoutMs: REQUEST_TIMEOUT_MS });
  expect(ready.status).toBe(200);
  const output = server.output();
  const errors = output.slice(logChecked).split('\n').filter((line) => /"level":(50|60)/.test(line));
  logChecked = output.length;
  expect(errors, 'the server logged errors').toEqual([]);
}

async function exercise(route: RouteEntry, model: RouteModel, c: Case): Promise<void> {
  const { path, headers, body, payload } = materialise(route, model, c);
  const expected = await verdict(route, model, c, path, headers, body);
  const before = await footprint();
  const tenant = await principalOf(headers);
  const others = tenant?.kind === 'producer' ? await othersFootprint(tenant.tenantId) : null;
  const res = await sendRaw(server.url, { method: route.method, path, headers, ...(payload !== undefined ? { body: payload } : {}) }, { agent, timeoutMs: REQUEST_TIMEOUT_MS });
  const what = `${route.method} ${path.slice(0, 160)} (${expected.refuse ? `must refuse: ${expected.why}` : 'may accept'}) answered ${res.status}`;
  const refused = judgeAnswer(what, model, route.method, String(headers.accept ?? ''), res);
  const entry = stats.get(`${route.method} ${route.url}`)!;
  entry.requests++;
  entry.statuses.set(res.status, (entry.statuses.get(res.status) ?? 0) + 1);
  if (expected.refuse) {
    expect(refused, `${what}: accepted\n${res.body.slice(0, 300)}`).toBe(true);
    if (expected.status !== undefined) expect(res.status, `${what}\n${res.body.slice(0, 300)}`).toBe(expected.status);
  }
  if (tenant?.kind === 'producer') {
    for (const [owner, secret] of Object.entries(SECRETS)) {
      if (owner !== tenant.tenantId) expect(res.body, `${what}: tenant ${tenant.tenantId} was answered ${owner}'s data`).not.toContain(secret);
    }
    expect(await othersFootprint(tenant.tenantId), `${what}: tenant ${tenant.tenantId} changed another tenant's sessions`).toBe(others);
  }
  if (refused) {
    entry.refused++;
    expect(await footprint(), `${what}: a refusal wrote to Postgres or Redis`).toBe(before);
  } else entry.accepted++;
}

beforeAll(async () => {
  f = await createRuntimeFixture();
  sql = postgres(f.db.url, { max: 1, onnotice: () => {} });
  const tables = await sql<Array<{ table_name: string }>>`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`;
  footprintQuery = tables.map(({ table_name: t }) => `select '${t}' as t, md5(coalesce(string_agg(x::text, '|' order by x::text), '')) as h from "${t}" x`).join(' union all ');
  const scoped = await sql<Array<{ table_name: string }>>`select table_name from information_schema.columns where table_schema = 'public' and column_name = 'session_id' order by table_name`;
  othersFootprintQuery = scoped
    .map(({ table_name: t }) => `select '${t}' as t, md5(coalesce(string_agg(x::text, '|' order by x::text), '')) as h from "${t}" x
      where x.session_id in (select session_id from session_tenants where tenant_id <> $1)`)
    .join(' union all ');
  // Two tenants with store keys, and a secret marker in every tenant's sessions (the default tenant's: fz-live's input).
  for (const [tenantId, key] of Object.entries(TENANT_KEYS)) {
    await f.store.apiKeys.create({ keyId: tenantId, keySha256: secretDigest(key), tenantId, role: 'producer' });
    const sessionId = `${tenantId}-live`;
    await f.store.sessions.create({ sessionId, agentId: 'fz-agent', authorizedTools: ['search'], callBudget: 3, timeLimitMs: 3_600_000, tenantId });
    await f.producer.enqueue({ ...turnInputDraft(sessionId, SECRETS[tenantId]!, 'after_current_turn_commit', 'exclusive'), tenantId, sourceKey: 'fz-key-0' });
  }
  const theirDead = await f.store.queue.enqueue({ ...turnInputDraft('fz-b-dead', SECRETS['fz-b']!, 'after_current_turn_commit', 'exclusive'), tenantId: 'fz-b' });
  await f.store.queue.deadLetter('fz-b-dead', theirDead.batchId, `boom ${SECRETS['fz-b']}`);
  realIds.batchId!.push(theirDead.batchId);
  // Real ids, so that some requests get past the id checks and meet real rows.
  await f.store.sessions.create({ sessionId: 'fz-live', agentId: 'fz-agent', authorizedTools: ['search'], callBudget: 3, timeLimitMs: 3_600_000 });
  await f.store.sessions.create({ sessionId: 'fz-closed', agentId: 'fz-agent', authorizedTools: [], callBudget: 0, timeLimitMs: 3_600_000 });
  await f.store.sessions.close('fz-closed');
  // Published: its BullMQ job gives Bull Board's job routes a real id.
  const queued = await f.producer.enqueue(turnInputDraft('fz-live', `queued ${SECRETS.default}`, 'after_current_turn_commit', 'exclusive'));
  const dead = await f.store.queue.enqueue(turnInputDraft('fz-dead', 'poison', 'after_current_turn_commit', 'exclusive'));
  await f.store.queue.deadLetter('fz-dead', dead.batchId, `boom ${XSS}`);
  realIds.batchId!.push(queued.batchId, dead.batchId);
  realIds.jobId!.push(queued.batchId);
  server = await startServerProcess(f.env({ HTTP_BODY_LIMIT_BYTES: String(BODY_LIMIT), MAX_ACTIVE_SESSIONS_PER_AGENT: '1000', ...LOGIN_LIMITS }));
  const login = await sendRaw(server.url, {
    method: 'POST',
    path: '/admin/login',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `user=${OPERATOR.user}&password=${encodeURIComponent(OPERATOR.password)}`,
  }, { agent, timeoutMs: REQUEST_TIMEOUT_MS });
  operatorCookie = [login.headers['set-cookie'] ?? []].flat().find((c) => c.startsWith(`${SESSION_COOKIE}=`))!.split(';')[0]!;
  expect(operatorCookie.startsWith(`${SESSION_COOKIE}=`)).toBe(true);
  const dashboard = await sendRaw(server.url, { method: 'GET', path: '/admin/sessions', headers: { cookie: operatorCookie, accept: 'text/html' } }, { agent, timeoutMs: REQUEST_TIMEOUT_MS });
  const setCookies = [dashboard.headers['set-cookie'] ?? []].flat();
  csrfCookie = setCookies.find((c) => c.startsWith(`${CSRF_COOKIE}=`))!.split(';')[0]!;
  csrfToken = decodeURIComponent(setCookies.find((c) => c.startsWith(`${XSRF_COOKIE}=`))!.split(';')[0]!.slice(XSRF_COOKIE.length + 1));
  expect(dashboard.body).toContain(`name="csrf" value="`);
  for (const route of inventory) stats.set(`${route.method} ${route.url}`, { requests: 0, refused: 0, accepted: 0, statuses: new Map() });
}, 60_000);

afterAll(async () => {
  const all = [...stats.values()];
  const sum = (pick: (s: (typeof all)[number]) => number) => all.reduce((n, s) => n + pick(s), 0);
  console.log(`HTTP fuzz: ${stats.size} routes × ${RUNS} runs, ${sum((s) => s.requests)} requests, ${sum((s) => s.refused)} refused, ${sum((s) => s.accepted)} accepted`);
  if (process.env.TURNLANE_HTTP_FUZZ_VERBOSE) {
    for (const [route, s] of stats) console.log(`${route.padEnd(62)} ${String(s.requests).padStart(5)} req ${String(s.refused).padStart(5)} refused  ${[...s.statuses].sort().map(([k, v]) => `${k}×${v}`).join(' ')}`);
  }
  agent.destroy();
  await server?.stop();
  await sql?.end();
  await f?.cleanup();
});

async function call(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<RawResponse & { json: any }> {
  const res = await sendRaw(server.url, { method, path, headers: { accept: 'application/json', ...headers }, ...(body !== undefined ? { body } : {}) }, { agent, timeoutMs: REQUEST_TIMEOUT_MS });
  let json: unknown = null;
  try {
    json = JSON.parse(res.body);
  } catch {
    // HTML, an event stream or nothing.
  }
  return { ...res, json };
}

const asJson = { 'content-type': 'application/json' };

describe('regressions the fuzzer found', () => {
  it('a malformed percent-encoding in the path: a typed 400 (was Fastify\'s untyped FST_ERR_BAD_URL, before credentials)', async () => {
    for (const path of ['/v1/sessions/%E0%A4%A', '/v1/sessions/%/inputs', '/admin/sessions/%FF', '/v1/dead-letters/%%41/requeue']) {
      const res = await call('GET', path, bearer);
      expect(res.status, path).toBe(400);
      expect(res.json.error).toMatchObject({ code: 'INVALID_INPUT', message: 'path: expected a URL with valid percent-encoding' });
    }
  });

  it('an id longer than the router takes: a typed 400 without the path in it (was an untyped 414 echoing 10 kB)', async () => {
    const res = await call('GET', `/v1/sessions/${'x'.repeat(10_000)}`, bearer);
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('INVALID_INPUT');
    expect(res.body.length).toBeLessThan(300);
  });

  it('request line and headers over 16 kB: a typed 431 (was untyped)', async () => {
    const res = await call('GET', '/healthz', { 'x-padding': 'x'.repeat(20_000) });
    expect(res.status).toBe(431);
    expect(res.json.error.code).toBe('HEADERS_TOO_LARGE');
    expect((await call('GET', '/healthz')).status).toBe(200);
  });

  it('a request Node cannot parse: a typed 400 before the connection closes (was untyped)', async () => {
    const { hostname, port } = new URL(server.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'));
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)).error.code).toBe('INVALID_INPUT');
  });

  it('HEAD on an event stream answers its headers and ends (was a request that never got an answer)', async () => {
    const res = await call('HEAD', '/v1/sessions/fz-live/events', bearer);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('text/event-stream');
    expect((await call('GET', '/healthz')).status).toBe(200);
  });

  it('a NUL in a query string: a typed 400 (was a Postgres error and a 500)', async () => {
    for (const path of ['/v1/sessions?agentId=%00', '/v1/sessions?after=a%00', '/admin/sessions?agent=a%00']) {
      const res = await call('GET', path, basic);
      expect(res.status, path).toBe(400);
      expect(res.json.error.code).toBe('INVALID_INPUT');
    }
  });

  it('Bull Board: the Redis panel and a job\'s flow answer, a refused job action is a 409, a body its handler cannot read a 400, one over the limit a 413 (all were 500s)', async () => {
    const batch = await f.producer.enqueue(turnInputDraft('fz-regression', 'x', 'after_current_turn_commit', 'exclusive'));
    const stats = await call('GET', `${BULL_BOARD_PATH}/api/redis/stats`, basic);
    expect(stats.status).toBe(200);
    expect(typeof stats.json.version).toBe('string');
    expect((await call('GET', `${BULL_BOARD_PATH}/api/queues/${f.settings.queueName}/${batch.batchId}/flow`, basic)).status).toBe(200);
    // Writes carry the CSRF cookie and token, as Bull Board's UI does (and as a script must).
    const csrf = { cookie: csrfCookie, 'x-xsrf-token': csrfToken };
    const promote = await call('PUT', `${BULL_BOARD_PATH}/api/queues/${f.settings.queueName}/${batch.batchId}/promote`, { ...basic, ...csrf });
    expect(promote).toMatchObject({ status: 409, json: { code: 'JOB_STATE_CONFLICT' } });
    for (const [method, path, body] of [
      ['POST', 'add', '1e999999'],
      ['POST', 'add', JSON.stringify({ name: 'x', options: { jobId: '123' } })],
      ['POST', 'add', JSON.stringify({ name: 'x', options: { priority: 1e9 } })],
      ['PUT', 'concurrency', 'null'],
    ] as const) {
      const res = await call(method, `${BULL_BOARD_PATH}/api/queues/${f.settings.queueName}/${path}`, { ...basic, ...csrf, ...asJson }, body);
      expect(res, `${method} ${path} ${body}`).toMatchObject({ status: 400, json: { code: 'INVALID_INPUT' } });
    }
    const big = await call('PUT', `${BULL_BOARD_PATH}/api/queues/pause`, { ...basic, ...csrf, ...asJson }, JSON.stringify({ x: 'x'.repeat(BODY_LIMIT) }));
    // Without the token the same write is refused before Bull Board sees it.
    expect(await call('PUT', `${BULL_BOARD_PATH}/api/queues/${f.settings.queueName}/${batch.batchId}/promote`, basic)).toMatchObject({ status: 403, json: { code: 'CSRF' } });
    expect(big).toMatchObject({ status: 413, json: { code: 'PAYLOAD_TOO_LARGE' } });
    expect(server.output()).not.toContain('Bull Board request failed');
  });

  it('a refused login answers a script with a typed 401 (was the HTML form), and takes only strings', async () => {
    const wrong = await call('POST', '/admin/login', asJson, JSON.stringify({ user: OPERATOR.user, password: 'wrong' }));
    expect(wrong).toMatchObject({ status: 401, json: { error: { code: 'UNAUTHORIZED' } } });
    const arrays = await call('POST', '/admin/login', asJson, JSON.stringify({ user: [OPERATOR.user], password: [OPERATOR.password] }));
    expect(arrays.status).toBe(401);
    const browser = await call('POST', '/admin/login', { ...asJson, accept: 'text/html' }, JSON.stringify({ user: OPERATOR.user, password: 'wrong' }));
    expect(browser.status).toBe(401);
    expect(browser.headers['content-type']).toContain('text/html');
  });
});

describe('fuzz: every HTTP route', () => {
  it('has a model for every route the server registers, and a route for every model', () => {
    const missing = inventory.filter((route) => modelOf(route) === undefined).map((r) => `${r.method} ${r.url}`);
    expect(missing, 'routes without a fuzz model').toEqual([]);
    const registered = new Set(inventory.map((r) => `${r.method} ${r.url}`));
    expect(Object.keys(MODELS).filter((key) => !registered.has(key)), 'models of routes that no longer exist').toEqual([]);
    expect(inventory.some((r) => r.url.startsWith(BULL_BOARD_PATH))).toBe(true);
  });

  for (const route of inventory) {
    const model = modelOf(route);
    if (!model) continue;
    it(`${route.method} ${route.url}`, async () => {
      logChecked = server.output().length;
      await fc.assert(
        fc.asyncProperty(caseArb(route, model), (c) => exercise(route, model, c)),
        { numRuns: RUNS },
      );
      await expectServing();
      expect(stats.get(`${route.method} ${route.url}`)!.requests).toBeGreaterThanOrEqual(RUNS);
    }, 30_000 + RUNS * 500);
  }

  it('answers unrouted and traversal paths with a typed 404, and is still serving at the end', async () => {
    const notFound: RouteModel = { access: 'public' };
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'),
        fc.constantFrom('/', '//', '/v1', '/v1/', '/v1/sessions/', '/v1/sessions/x/', '/v1/sessions/x/nope', '/../../etc/passwd', '/v1/sessions/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/admin/../v1/sessions',
          `/v1/sessions/${'x'.repeat(10_000)}`, '/v1/sessions/%00', '/%E0%A4%A', `/${encode(XSS)}`, '/v2/sessions', '/healthz/', '/HEALTHZ', '/v1/sessions?x=1#frag', '/*', '/admin/queues/static/../../../../package.json'),
        async (method, path) => {
          const res = await sendRaw(server.url, { method, path, headers: { accept: 'application/json' } }, { agent, timeoutMs: REQUEST_TIMEOUT_MS });
          const what = `${method} ${path.slice(0, 100)} answered ${res.status}`;
          expect(judgeAnswer(what, notFound, method, 'application/json', res), `${what}: accepted`).toBe(true);
        },
      ),
      { numRuns: Math.max(RUNS, 40) },
    );
    await expectServing();
  });

  it('leaves the server process alive and serving valid requests (which do write)', async () => {
    await expectServing();
    const before = await footprint();
    const created = await call('POST', '/v1/sessions', { ...bearer, ...asJson }, JSON.stringify({ sessionId: 'fz-after', agentId: 'fz-agent', authorizedTools: [], callBudget: 1, timeLimitMs: 60_000 }));
    expect(created.status).toBe(201);
    const input = await call('POST', '/v1/sessions/fz-after/inputs', { ...bearer, ...asJson, 'idempotency-key': 'after-fuzz' }, JSON.stringify({ text: 'still here?' }));
    expect(input).toMatchObject({ status: 202, json: { sessionId: 'fz-after', status: 'queued' } });
    // The write check is not blind: an accepted request changes the footprint.
    expect(await footprint()).not.toBe(before);
    expect(server.child.exitCode).toBeNull();
  });
});
