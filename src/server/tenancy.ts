/**
 * Route-level tenant rules (issue 14). A producer key acts for one tenant: it sees only sessions
 * its tenant owns (and, when the key names agent ids, only task sessions of those agents);
 * anything else answers exactly as a missing session does (404 SESSION_NOT_FOUND), so a key
 * cannot tell another tenant's session from none. Operators and --insecure-local see every tenant.
 * The store re-checks the tenant on enqueue in the same statement that writes (a session's owner
 * never changes once set, so a check here stays true for the rest of the request).
 */
import type { FastifyRequest } from 'fastify';
import { DEFAULT_TENANT_ID } from '../store/tenants.js';
import type { Principal } from './auth.js';
import type { ServerContext } from './context.js';
import { HttpError } from './http-errors.js';

type ProducerPrincipal = Extract<Principal, { kind: 'producer' }>;

/** The producer principal of a request, or null for operators and --insecure-local. */
export function producerOf(request: FastifyRequest): ProducerPrincipal | null {
  return request.principal?.kind === 'producer' ? request.principal : null;
}

/** The tenant a request is confined to; null: every tenant. */
export function callerTenant(request: FastifyRequest): string | null {
  return producerOf(request)?.tenantId ?? null;
}

export function sessionNotFound(sessionId: string): HttpError {
  return new HttpError(404, 'SESSION_NOT_FOUND', `no session ${sessionId}`, { sessionId });
}

/**
 * The tenant an enqueue or create acts for: a producer's own; for operators the session's owner
 * (an operator's command lands in the owner's session), or the default tenant for a new session.
 */
export async function actingTenant(ctx: ServerContext, request: FastifyRequest, sessionId?: string): Promise<string> {
  const producer = producerOf(request);
  if (producer) return producer.tenantId;
  return (sessionId === undefined ? null : await ctx.store.sessions.tenantOf(sessionId)) ?? DEFAULT_TENANT_ID;
}

/**
 * Refuses a session the caller may not see with `notFound()`, the very error the route gives for a
 * missing session. A producer sees its tenant's sessions; one nobody owns (from before tenants and
 * never enqueued to since, or committed straight through the store) is the default tenant's if the
 * store knows it. A key bound to agent ids sees task sessions of those agents only.
 */
export async function assertSessionVisible(ctx: ServerContext, request: FastifyRequest, sessionId: string, notFound: () => Error = () => sessionNotFound(sessionId)): Promise<void> {
  const producer = producerOf(request);
  if (!producer) return;
  const { store } = ctx;
  const [owner, task] = await Promise.all([store.sessions.tenantOf(sessionId), store.sessions.get(sessionId)]);
  if (producer.agentIds && !(task && producer.agentIds.includes(task.agentId))) throw notFound();
  if (owner === producer.tenantId) return;
  if (owner === null && producer.tenantId === DEFAULT_TENANT_ID && (task || (await store.operator.getSession(sessionId)))) return;
  throw notFound();
}

/**
 * Before an enqueue (which may start a new session): a key bound to agent ids may enqueue only to
 * its tenant's task sessions of those agents (else 404, as missing). The tenant rule itself is the
 * store's, in the statement that writes: another tenant's session is SessionNotFoundError (404,
 * the same body), and a new session becomes the caller's tenant's.
 */
export async function assertMayEnqueue(ctx: ServerContext, request: FastifyRequest, sessionId: string): Promise<void> {
  const producer = producerOf(request);
  // Without agent ids the store's check is the whole rule: no extra round trip on the enqueue path.
  if (!producer?.agentIds) return;
  const [owner, task] = await Promise.all([ctx.store.sessions.tenantOf(sessionId), ctx.store.sessions.get(sessionId)]);
  if (owner !== producer.tenantId || !(task && producer.agentIds.includes(task.agentId))) throw sessionNotFound(sessionId);
}

/** A key bound to agent ids may create sessions of those agents only (403 AGENT_NOT_ALLOWED). */
export function assertAgentAllowed(request: FastifyRequest, agentId: string): void {
  const producer = producerOf(request);
  if (producer?.agentIds && !producer.agentIds.includes(agentId)) {
    throw new HttpError(403, 'AGENT_NOT_ALLOWED', `this API key acts for agents ${producer.agentIds.join(', ')} only`, { agentId });
  }
}

/** Keys bound to agent ids do not see tenant-wide lists (dead letters): 403. */
export function assertTenantWide(request: FastifyRequest): void {
  if (producerOf(request)?.agentIds) throw new HttpError(403, 'FORBIDDEN', 'an API key bound to agent ids cannot list or requeue tenant-wide dead letters');
}
