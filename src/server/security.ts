/**
 * Browser-facing protections, all through maintained Fastify plugins: cookie parsing and signing
 * (@fastify/cookie), security headers (@fastify/helmet: CSP with frame-ancestors 'none', nosniff,
 * no referrer) and CSRF tokens (@fastify/csrf-protection: a signed, HttpOnly secret cookie per
 * browser; tokens bound to the operator). Forms echo the token in `csrf`; Bull Board's UI (axios)
 * echoes the readable `XSRF-TOKEN` cookie in `X-XSRF-TOKEN` on its own, so its write routes need a
 * token too: a page on another origin can neither read the cookie nor send the header.
 */
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyHelmet from '@fastify/helmet';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator } from './auth.js';

/** The CSRF secret's cookie (signed, HttpOnly, /admin only). */
export const CSRF_COOKIE = 'turnlane_csrf';
/** A token readable by Bull Board's UI, which sends it back as X-XSRF-TOKEN (axios' defaults). */
export const XSRF_COOKIE = 'XSRF-TOKEN';
const ADMIN_PATH = '/admin';

/**
 * Content-Security-Policy of every answer. The dashboard inlines its stylesheet and Bull Board its
 * loading spinner's styles, hence 'unsafe-inline' for styles only; no inline or foreign script.
 * Not helmet's defaults: they add upgrade-insecure-requests, which broke the dashboard served over
 * plain http on 127.0.0.1 (Chromium fetched Bull Board's scripts over https).
 */
const CSP = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'", "'unsafe-inline'"],
  'img-src': ["'self'", 'data:'],
  'font-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'self'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
};

/** Who a CSRF token is bound to: the operator's name (or `local` without credentials). */
function csrfBinding(request: FastifyRequest): string {
  const principal = request.principal;
  return principal?.kind === 'operator' ? `operator:${principal.user}` : 'local';
}

function tokenOf(request: FastifyRequest): string {
  const body = request.body as { csrf?: unknown } | undefined;
  if (body && typeof body === 'object' && typeof body.csrf === 'string') return body.csrf;
  const header = request.headers['x-csrf-token'] ?? request.headers['x-xsrf-token'];
  return typeof header === 'string' ? header : '';
}

/** Whether cookies this request sets get `Secure`: it came over TLS (directly or through a trusted proxy). */
export function cookiesSecure(request: FastifyRequest): boolean {
  return request.protocol === 'https';
}

export async function registerSecurity(app: FastifyInstance, auth: Authenticator): Promise<void> {
  await app.register(fastifyCookie, { secret: auth.cookieSecret });
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: { useDefaults: false, directives: CSP },
    frameguard: { action: 'deny' },
  });
  await app.register(fastifyCsrf, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: CSRF_COOKIE,
    cookieOpts: { path: ADMIN_PATH, httpOnly: true, sameSite: 'strict', signed: true },
    csrfOpts: { hmacKey: auth.cookieSecret },
    getUserInfo: csrfBinding,
    getToken: tokenOf,
  });
}

/**
 * A CSRF token for this operator's forms; also sets the readable XSRF-TOKEN cookie that Bull
 * Board's UI echoes. Mints the browser's secret cookie on first use.
 */
export function issueCsrf(request: FastifyRequest, reply: FastifyReply): string {
  const secure = cookiesSecure(request);
  const token = reply.generateCsrf({ userInfo: csrfBinding(request), secure } as Parameters<FastifyReply['generateCsrf']>[0]);
  void reply.setCookie(XSRF_COOKIE, token, { path: ADMIN_PATH, sameSite: 'strict', secure, httpOnly: false });
  return token;
}

/** Forgets the browser's CSRF secret and token (logout, login): the next page mints new ones. */
export function clearCsrf(reply: FastifyReply): void {
  void reply.clearCookie(CSRF_COOKIE, { path: ADMIN_PATH });
  void reply.clearCookie(XSRF_COOKIE, { path: ADMIN_PATH });
}
