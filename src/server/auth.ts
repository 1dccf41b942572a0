/**
 * Who may call what. Producers present an API key as `Authorization: Bearer <key>`; the server
 * keeps only SHA-256 digests of the keys: the environment's (API_KEY_SHA256, the default
 * tenant's producer keys) and the store's (`turnlane keys create`: a tenant, a role, optional agent
 * ids), looked up through `lookupApiKey` (api-keys.ts). Operators present `user:password` with
 * Basic auth or the login cookie of the /admin login form: a signed random id of a server-side
 * session (operator-sessions.ts), which logout revokes. Passwords are kept as salted scrypt hashes
 * (passwords.ts); failed operator logins are throttled per user and per address
 * (login-throttle.ts). Operators may also use the producer routes. `insecureLocal` lets
 * everything through and is only accepted together with a 127.0.0.1 bind (see app.ts).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type {} from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DEFAULT_TENANT_ID } from '../store/tenants.js';
import { HttpError } from './http-errors.js';
import { createLoginThrottle, DEFAULT_LOGIN_THROTTLE, type LoginThrottle } from './login-throttle.js';
import { createOperatorSessions, type OperatorSessions } from './operator-sessions.js';
import { decoyHash, isLegacyDigest, verifyPassword } from './passwords.js';

export interface AuthSettings {
  /** Lowercase hex SHA-256 digests of producer API keys. */
  apiKeySha256: string[];
  /** `user:<hash>` of each operator: a `$scrypt$…` hash, or (deprecated) the SHA-256 hex of the password. */
  operatorCredentials: string[];
  /** Signs login and CSRF cookies; empty: a random secret for this process. */
  sessionSecret: string;
  /** Failed-login limits; default DEFAULT_LOGIN_THROTTLE. */
  loginThrottle?: LoginThrottle;
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
/** Verified Basic credentials are remembered this long, so that each request does not pay a scrypt check (tens of ms). */
const BASIC_CACHE_MS = 5 * 60 * 1000;
const BASIC_CACHE_MAX = 1000;

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

export interface Authenticator {
  readonly settings: AuthSettings;
  readonly sessions: OperatorSessions;
  /** Signs the login and CSRF cookies (OPERATOR_SESSION_SECRET, else random per process). */
  readonly cookieSecret: string;
  readonly throttle: LoginThrottle;
  /**
   * Who the request is by its environment key, Basic credentials or login cookie, or null. Wrong
   * Basic passwords count as failed logins; throws 429 LOGIN_THROTTLED when the user or address
   * has none left.
   */
  identify(request: FastifyRequest): Promise<Principal | null>;
  /** Like `identify`, and also looks up store API keys. */
  authenticate(request: FastifyRequest): Promise<Principal | null>;
  /** Checks a user and password (constant work for unknown users). */
  checkOperator(user: string, password: string): Promise<boolean>;
  /** The server-side session id behind the request's login cookie, if it carries a valid one. */
  sessionIdOf(request: FastifyRequest): string | null;
  /** onRequest hooks. */
  requireProducer(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  requireOperator(request: FastifyRequest, reply: FastifyReply): Promise<void>;
}

export function createAuthenticator(settings: AuthSettings): Authenticator {
  const operators = new Map<string, string>();
  for (const entry of settings.operatorCredentials) {
    // User names have no ':' (config.ts), hashes neither.
    const colon = entry.indexOf(':');
    operators.set(entry.slice(0, colon), entry.slice(colon + 1));
  }
  const cookieSecret = settings.sessionSecret !== '' ? settings.sessionSecret : randomBytes(32).toString('hex');
  const sessions = createOperatorSessions();
  const throttle = settings.loginThrottle ?? createLoginThrottle(DEFAULT_LOGIN_THROTTLE);
  // Keys the cache of verified Basic credentials; never leaves the process.
  const cacheKey = randomBytes(32);
  const verified = new Map<string, number>();

  async function checkOperator(user: string, password: string): Promise<boolean> {
    const stored = operators.get(user);
    // Hash even for an unknown user so the answer takes the same time.
    const ok = await verifyPassword(password, stored ?? (await decoyHash()));
    return stored !== undefined && ok;
  }

  /** Basic credentials: remembered for BASIC_CACHE_MS once verified; failures counted by the throttle. */
  async function checkBasic(request: FastifyRequest, user: string, password: string): Promise<boolean> {
    const now = Date.now();
    const key = createHmac('sha256', cacheKey).update(`${user}\0${password}`).digest('base64url');
    const until = verified.get(key);
    if (until !== undefined && until > now && operators.has(user)) return true;
    throttle.check(user, request.ip, now);
    if (!(await checkOperator(user, password))) {
      throttle.fail(user, request.ip, now);
      return false;
    }
    if (verified.size >= BASIC_CACHE_MAX) verified.delete(verified.keys().next().value!);
    verified.set(key, now + BASIC_CACHE_MS);
    return true;
  }

  function sessionIdOf(request: FastifyRequest): string | null {
    const value = request.cookies?.[SESSION_COOKIE];
    if (!value) return null;
    const unsigned = request.unsignCookie(value);
    return unsigned.valid && unsigned.value ? unsigned.value : null;
  }

  function sessionUser(request: FastifyRequest): string | null {
    const id = sessionIdOf(request);
    const user = id === null ? null : sessions.user(id, Date.now());
    return user !== null && operators.has(user) ? user : null;
  }

  async function identify(request: FastifyRequest): Promise<Principal | null> {
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
      return (await checkBasic(request, user, decoded.slice(colon + 1))) ? { kind: 'operator', user, role: 'admin' } : null;
    }
    const user = sessionUser(request);
    return user ? { kind: 'operator', user, role: 'admin' } : null;
  }

  async function authenticate(request: FastifyRequest): Promise<Principal | null> {
    const principal = await identify(request);
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
    sessions,
    cookieSecret,
    throttle,
    identify,
    authenticate,
    checkOperator,
    sessionIdOf,
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

/** Operators whose configured credential is a deprecated unsalted SHA-256 digest (warned about at startup). */
export function legacyOperatorUsers(operatorCredentials: readonly string[]): string[] {
  return operatorCredentials.filter((entry) => isLegacyDigest(entry.slice(entry.indexOf(':') + 1))).map((entry) => entry.slice(0, entry.indexOf(':')));
}

/** SHA-256 hex of a secret, as API_KEY_SHA256 expects (and OPERATOR_CREDENTIALS accepted before scrypt). */
export function secretDigest(secret: string): string {
  return sha256(secret).toString('hex');
}
