/**
 * Who may call what. Producers present an API key as `Authorization: Bearer <key>`; the server
 * keeps only SHA-256 digests of the keys: the environment's (API_KEY_SHA256, the default
 * tenant's producer keys) and the store's (`turnlane keys create`: a tenant, a role, optional agent
 * ids), looked up through `lookupApiKey` (api-keys.ts). Operators present `user:password` with Basic auth or a
 * signed login cookie from the /admin login form; passwords are kept as SHA-256 digests too, so
 * they should be long random strings (a digest of a short password is guessable offline).
 * Operators may also use the producer routes. `insecureLocal` lets everything through and is
 * only accepted together with a 127.0.0.1 bind (see app.ts).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DEFAULT_TENANT_ID } from '../store/tenants.js';
import { HttpError } from './http-errors.js';

export interface AuthSettings {
  /** Lowercase hex SHA-256 digests of producer API keys. */
  apiKeySha256: string[];
  /** `user:sha256hex` of each operator's password. */
  operatorCredentials: string[];
  /** Signs login cookies; empty: a random secret for this process. */
  sessionSecret: string;
  /** No credentials checked (development on 127.0.0.1 only). */
  insecureLocal: boolean;
  /** Finds a live API key of the store by the SHA-256 hex of the presented key; absent: environment keys only. */
  lookupApiKey?: (keySha256: string) => Promise<Principal | null>;
}

/** What an operator may do: `read_only` reads; `operator` also cancels, closes, resets and requeues; `admin` everything. */
export type OperatorRole = 'read_only' | 'operator' | 'admin';

/**
 * `producer`: one tenant's sessions (of `agentIds` only, when the key names them; `keyId` null for
 * an environment key). `operator`: every tenant, as its role allows (a dashboard login or a
 * Basic-auth operator is `admin`). `local`: --insecure-local.
 */
export type Principal =
  | { kind: 'producer'; tenantId: string; agentIds: string[] | null; keyId: string | null }
  | { kind: 'operator'; user: string; role: OperatorRole }
  | { kind: 'local' };

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export const SESSION_COOKIE = 'turnlane_operator';
/** 12 hours: a working day at the dashboard without logging in again. */
const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Constant-time membership of a digest in a list of hex digests. */
function digestIn(digest: Buffer, hexList: readonly string[]): boolean {
  let found = false;
  for (const hex of hexList) {
    const known = Buffer.from(hex, 'hex');
    if (known.length === digest.length && timingSafeEqual(known, digest)) found = true;
  }
  return found;
}

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    try {
      out[name] = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      // A malformed cookie is ignored, never an error page.
    }
  }
  return out;
}

export interface Authenticator {
  readonly settings: AuthSettings;
  /** Who the request is, or null when it carries no valid credentials. */
  identify(request: FastifyRequest): Principal | null;
  /** Checks a login form's user and password. */
  checkOperator(user: string, password: string): boolean;
  /** A signed cookie value for a logged-in operator. */
  issueSession(user: string, nowMs: number): string;
  /** A per-session token that forms must echo (cookie logins only; the cookie is also SameSite=Strict). */
  csrfToken(request: FastifyRequest): string;
  /** Like `identify`, and also looks up store API keys. */
  authenticate(request: FastifyRequest): Promise<Principal | null>;
  /** onRequest hooks. */
  requireProducer(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  requireOperator(request: FastifyRequest, reply: FastifyReply): Promise<void>;
}

export function createAuthenticator(settings: AuthSettings): Authenticator {
  const secret = settings.sessionSecret !== '' ? settings.sessionSecret : randomBytes(32).toString('hex');
  const operators = new Map<string, string>();
  for (const entry of settings.operatorCredentials) {
    const colon = entry.lastIndexOf(':');
    operators.set(entry.slice(0, colon), entry.slice(colon + 1));
  }

  const sign = (payload: string) => createHmac('sha256', secret).update(payload).digest('base64url');

  function checkOperator(user: string, password: string): boolean {
    const hex = operators.get(user);
    // Hash even for an unknown user so the answer takes the same time.
    const ok = digestIn(sha256(password), [hex ?? '0'.repeat(64)]);
    return hex !== undefined && ok;
  }

  function sessionUser(request: FastifyRequest): string | null {
    const value = parseCookies(request.headers.cookie)[SESSION_COOKIE];
    if (!value) return null;
    const [user64, expiry, mac] = value.split('.');
    if (!user64 || !expiry || !mac) return null;
    const expected = Buffer.from(sign(`${user64}.${expiry}`));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
    if (!(Number(expiry) > Date.now())) return null;
    const user = Buffer.from(user64, 'base64url').toString('utf8');
    return operators.has(user) ? user : null;
  }

  function identify(request: FastifyRequest): Principal | null {
    if (settings.insecureLocal) return { kind: 'local' };
    const header = request.headers.authorization ?? '';
    const space = header.indexOf(' ');
    const scheme = space > 0 ? header.slice(0, space).toLowerCase() : '';
    const value = space > 0 ? header.slice(space + 1).trim() : '';
    if (scheme === 'bearer' && value !== '') return digestIn(sha256(value), settings.apiKeySha256) ? ENVIRONMENT_PRODUCER : null;
    if (scheme === 'basic' && value !== '') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon <= 0) return null;
      const user = decoded.slice(0, colon);
      return checkOperator(user, decoded.slice(colon + 1)) ? { kind: 'operator', user, role: 'admin' } : null;
    }
    const user = sessionUser(request);
    return user ? { kind: 'operator', user, role: 'admin' } : null;
  }

  async function authenticate(request: FastifyRequest): Promise<Principal | null> {
    const principal = identify(request);
    if (principal || !settings.lookupApiKey) return principal;
    const bearer = bearerKey(request);
    return bearer === null ? null : settings.lookupApiKey(sha256(bearer).toString('hex'));
  }

  /** A read-only operator reads only: every other method is refused before the route runs. */
  function refuseReadOnlyWrites(request: FastifyRequest, principal: Principal): void {
    if (principal.kind === 'operator' && principal.role === 'read_only' && request.method !== 'GET' && request.method !== 'HEAD') {
      throw new HttpError(403, 'FORBIDDEN', 'a read-only operator cannot change anything');
    }
  }

  function unauthorized(request: FastifyRequest, reply: FastifyReply, message: string): never {
    // Browsers get the dashboard's own login page (see dashboard), so no Basic challenge for them:
    // it would pop up the browser's native dialog instead.
    if (!(request.headers.accept ?? '').includes('text/html')) void reply.header('www-authenticate', 'Basic realm="turnlane", charset="UTF-8"');
    throw new HttpError(401, 'UNAUTHORIZED', message);
  }

  return {
    settings,
    identify,
    authenticate,
    checkOperator,
    issueSession(user, nowMs) {
      const user64 = Buffer.from(user, 'utf8').toString('base64url');
      const expiry = String(nowMs + SESSION_TTL_MS);
      return `${user64}.${expiry}.${sign(`${user64}.${expiry}`)}`;
    },
    csrfToken(request) {
      return sign(`csrf:${parseCookies(request.headers.cookie)[SESSION_COOKIE] ?? 'basic'}`);
    },
    async requireProducer(request, reply) {
      const principal = await authenticate(request);
      if (!principal) unauthorized(request, reply, 'a producer API key (Authorization: Bearer) or operator credentials are required');
      refuseReadOnlyWrites(request, principal);
      request.principal = principal;
    },
    async requireOperator(request, reply) {
      const principal = await authenticate(request);
      if (!principal) unauthorized(request, reply, 'operator credentials are required');
      if (principal.kind === 'producer') throw new HttpError(403, 'FORBIDDEN', 'a producer API key cannot use operator routes');
      refuseReadOnlyWrites(request, principal);
      request.principal = principal;
    },
  };
}

/** The environment-configured producer keys (API_KEY_SHA256) act for the default tenant. */
const ENVIRONMENT_PRODUCER: Principal = Object.freeze({ kind: 'producer', tenantId: DEFAULT_TENANT_ID, agentIds: null, keyId: null });

/** The key of an `Authorization: Bearer <key>` header; null without one. */
function bearerKey(request: FastifyRequest): string | null {
  const header = request.headers.authorization ?? '';
  const space = header.indexOf(' ');
  if (space <= 0 || header.slice(0, space).toLowerCase() !== 'bearer') return null;
  const value = header.slice(space + 1).trim();
  return value === '' ? null : value;
}

/** Whether any credential is configured at all. */
export function hasCredentials(settings: Pick<AuthSettings, 'apiKeySha256' | 'operatorCredentials'>): boolean {
  return settings.apiKeySha256.length > 0 || settings.operatorCredentials.length > 0;
}

/** SHA-256 hex of a secret, as API_KEY_SHA256 and OPERATOR_CREDENTIALS expect. */
export function secretDigest(secret: string): string {
  return sha256(secret).toString('hex');
}
