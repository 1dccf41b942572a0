/**
 * Server-side operator sessions: the login cookie carries only a random id (256 bits, signed by
 * @fastify/cookie); the user and expiry stay here, so logout revokes the session at once (the
 * former self-contained signed cookie stayed valid 12 h after logout). Kept in this process's
 * memory: a restart logs operators out, and several servers behind one dashboard address need
 * sticky sessions. Bounded: at most MAX_SESSIONS, the oldest dropped first.
 */
import { createHash, randomBytes } from 'node:crypto';

/** 12 hours: a working day at the dashboard without logging in again. */
export const OPERATOR_SESSION_TTL_MS = 12 * 60 * 60 * 1000;
/** Live sessions kept; one per login, so 10,000 is far above any team's. */
const MAX_SESSIONS = 10_000;

export interface OperatorSessions {
  /** A new session for `user`; returns its id (the cookie value). */
  create(user: string, nowMs: number): string;
  /** The user of a live session, else null (unknown, expired or revoked). */
  user(id: string, nowMs: number): string | null;
  /** Ends a session (logout); unknown ids are ignored. */
  revoke(id: string): void;
  /** Live and not yet swept sessions (tests). */
  size(): number;
}

const keyOf = (id: string) => createHash('sha256').update(id).digest('base64url');

export function createOperatorSessions(ttlMs = OPERATOR_SESSION_TTL_MS): OperatorSessions {
  // Keyed by a digest of the id: a heap dump does not hand out live cookies. Map order is creation order.
  const sessions = new Map<string, { user: string; expiresAtMs: number }>();
  return {
    create(user, nowMs) {
      for (const [key, session] of sessions) {
        if (session.expiresAtMs > nowMs && sessions.size < MAX_SESSIONS) break;
        sessions.delete(key);
      }
      const id = randomBytes(32).toString('base64url');
      sessions.set(keyOf(id), { user, expiresAtMs: nowMs + ttlMs });
      return id;
    },
    user(id, nowMs) {
      const key = keyOf(id);
      const session = sessions.get(key);
      if (!session) return null;
      if (session.expiresAtMs <= nowMs) {
        sessions.delete(key);
        return null;
      }
      return session.user;
    },
    revoke(id) {
      sessions.delete(keyOf(id));
    },
    size: () => sessions.size,
  };
}
