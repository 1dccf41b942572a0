/**
 * How many event streams may be open at once: per caller and per server. Each open stream holds
 * a socket, a 2 s poll of the store and its unsent bytes; 20 streams on large sessions took enqueue
 * p50 from 225 ms to 1,486 ms (issue 14), so a server refuses more than it can carry with a typed
 * 429 instead of slowing every other request.
 */
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { HttpError } from './http-errors.js';

export interface StreamLimits {
  /** Open event streams per caller (API key, operator). Default 32. */
  perCaller: number;
  /** Open event streams per server process. Default 512. */
  perServer: number;
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = { perCaller: 32, perServer: 512 };

export interface StreamGate {
  /** Counts a new stream for this caller, or throws the 429 `TOO_MANY_STREAMS`; returns its release (idempotent). */
  acquire(caller: string): () => void;
  /** Open streams now (tests, metrics). */
  open(): number;
}

export function createStreamGate(limits: StreamLimits): StreamGate {
  const perCaller = new Map<string, number>();
  let total = 0;
  return {
    acquire(caller) {
      const mine = perCaller.get(caller) ?? 0;
      if (total >= limits.perServer) {
        throw new HttpError(429, 'TOO_MANY_STREAMS', `this server already serves ${total} event streams (the limit); retry later`, { limit: limits.perServer, scope: 'server' });
      }
      if (mine >= limits.perCaller) {
        throw new HttpError(429, 'TOO_MANY_STREAMS', `these credentials already hold ${mine} event streams (the limit); close one first`, { limit: limits.perCaller, scope: 'caller' });
      }
      perCaller.set(caller, mine + 1);
      total += 1;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        total -= 1;
        const left = (perCaller.get(caller) ?? 1) - 1;
        // Deleted at zero: a map entry per caller ever seen would be state retained after close.
        if (left <= 0) perCaller.delete(caller);
        else perCaller.set(caller, left);
      };
    },
    open: () => total,
  };
}

/**
 * Whom a stream counts against: the operator's name, else a digest of the credentials presented
 * (a producer key is never kept in clear, not even in memory).
 */
export function streamCallerOf(request: FastifyRequest): string {
  const principal = request.principal;
  if (principal?.kind === 'operator') return `operator:${principal.user}`;
  if (principal?.kind === 'local') return 'local';
  const presented = request.headers.authorization ?? '';
  return `key:${createHash('sha256').update(presented).digest('base64url').slice(0, 22)}`;
}
