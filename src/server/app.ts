/**
 * The API server (Fastify): producer routes under /v1, operator routes (dead letters, /admin with
 * the sessions view and Bull Board), health and metrics. Errors are typed JSON
 * `{ error: { code, message, details } }` (http-errors.ts); every log line of a request carries
 * its request id (`reqId`), taken from `X-Request-Id` when the caller sends a sane one.
 */
import { randomBytes } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type RouteOptions } from 'fastify';
import type { ServerContext } from './context.js';
import { registerDashboard } from './dashboard/routes.js';
import { errorBody, handleClientError, handleError } from './http-errors.js';
import { registerDeadLetterRoutes } from './routes/dead-letters.js';
import { registerEventRoutes } from './routes/events.js';
import { registerOpenApi } from './openapi.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerSessionRoutes } from './routes/sessions.js';
import { registerSecurity } from './security.js';

export interface AppOptions {
  /** Largest request body in bytes. */
  bodyLimit: number;
  /** ms a client has to send a whole request (headers and body), else 408 and closed. Default 30,000. */
  requestTimeoutMs?: number;
  /** ms of socket inactivity before a connection is closed. Default 60,000. */
  connectionTimeoutMs?: number;
  /** ms an idle keep-alive connection stays open. Default 5,000. */
  keepAliveTimeoutMs?: number;
  /**
   * Addresses or CIDRs of reverse proxies whose X-Forwarded-For/-Proto are believed (the client
   * address for login throttling, https for Secure cookies). Default none: headers from anyone else
   * would let a client pick its address.
   */
  trustedProxies?: string[];
  /**
   * Sees every route as it is registered (automatic HEAD routes and Bull Board's included). The
   * HTTP fuzzer takes its route list from here, so a new route cannot escape it. Default: none.
   */
  onRoute?: (route: RouteOptions) => void;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export async function buildApp(ctx: ServerContext, options: AppOptions): Promise<FastifyInstance> {
  const requestTimeout = options.requestTimeoutMs ?? 30_000;
  const app = Fastify({
    loggerInstance: ctx.log as FastifyBaseLogger,
    bodyLimit: options.bodyLimit,
    // Bounded connections: without these, 1,000 connections trickling a body were all held (issue 14).
    requestTimeout,
    connectionTimeout: options.connectionTimeoutMs ?? 60_000,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 5_000,
    ...(options.trustedProxies && options.trustedProxies.length > 0 ? { trustProxy: options.trustedProxies } : {}),
    // Node checks request deadlines every connectionsCheckingInterval (default 30 s, which would let
    // a slow request live up to 30 s past its deadline); headers must come within the request's time.
    http: { connectionsCheckingInterval: Math.min(1000, requestTimeout), headersTimeout: Math.min(60_000, requestTimeout) },
    // One line per request from our onResponse hook (route pattern, status, ms) instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'reqId' }),
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomBytes(8).toString('hex');
    },
    // Sessions ids contain ':' and '.'; keep them in one path segment.
    routerOptions: { maxParamLength: 300 },
    // A malformed percent-encoding or an over-long id in the path, refused by the router before
    // any route runs: typed errors like every other refusal, not Fastify's own JSON.
    frameworkErrors: handleError,
    clientErrorHandler: handleClientError,
  });

  // First, so that it sees the routes of every plugin registered below.
  const onRoute = options.onRoute;
  if (onRoute) app.addHook('onRoute', (route) => onRoute(route));

  // The dashboard's forms post urlencoded bodies.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });

  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', String(request.id));
    (request as { startedAt?: number }).startedAt = performance.now();
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = (performance.now() - ((request as { startedAt?: number }).startedAt ?? performance.now())) / 1000;
    ctx.metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    ctx.metrics.httpDuration.observe({ method: request.method, route }, seconds);
    const fields = { method: request.method, route, status: reply.statusCode, ms: Math.round(seconds * 1000) };
    if (reply.statusCode >= 500) request.log.warn(fields, 'request answered');
    else request.log.debug(fields, 'request answered');
  });

  await registerSecurity(app, ctx.auth);
  // Before the routes: the document generator learns each route as it is registered.
  await registerOpenApi(app);

  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send(errorBody('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`));
  });

  registerHealthRoutes(app, ctx);
  registerSessionRoutes(app, ctx);
  registerEventRoutes(app, ctx);
  registerDeadLetterRoutes(app, ctx);
  registerDashboard(app, ctx);
  return app;
}
