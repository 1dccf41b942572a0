/** Liveness, readiness (Postgres and Redis answer) and Prometheus metrics. No credentials. */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { described } from '../openapi.js';

/** A readiness probe must answer before the orchestrator's own timeout (Kubernetes: 1 s). */
const PROBE_TIMEOUT_MS = 800;

function withTimeout<T>(promise: Promise<T>): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timed out')), PROBE_TIMEOUT_MS).unref())]);
}

export function registerHealthRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const tags = ['health'];
  app.get('/healthz', described({ summary: 'Liveness', tags, caller: 'public' }), async () => ({ status: 'ok' }));

  app.get('/readyz', described({ summary: 'Readiness: Postgres and Redis answer (503 otherwise)', tags, caller: 'public' }), async (_request, reply) => {
    const [postgres, redis] = await Promise.allSettled([withTimeout(ctx.store.clock.nowMs()), withTimeout(ctx.redis.ping())]);
    const checks = {
      postgres: postgres.status === 'fulfilled' ? 'ok' : 'unavailable',
      redis: redis.status === 'fulfilled' ? 'ok' : 'unavailable',
    };
    const ready = checks.postgres === 'ok' && checks.redis === 'ok';
    if (!ready) void reply.header('retry-after', '2');
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', checks });
  });

  app.get('/metrics', described({ summary: 'Prometheus metrics', tags, caller: 'public' }), async (_request, reply) => {
    const body = await ctx.metrics.registry.metrics();
    return reply.header('content-type', ctx.metrics.registry.contentType).send(body);
  });
}
