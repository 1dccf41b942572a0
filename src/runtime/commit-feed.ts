/**
 * The commit feed: a Redis pub/sub channel under the queue prefix on which workers announce each
 * committed turn and servers announce closed sessions. It only wakes listeners (the SSE streams of
 * `GET /v1/sessions/:id/events`); they read what happened from Postgres. So the channel carries
 * ids and revisions only, never payload text, and a lost message (Redis restart, a subscriber
 * reconnecting) costs latency, not correctness: the streams also poll the store.
 */
import type { Redis } from 'ioredis';

export type CommitFeedMessage =
  | { type: 'commit'; sessionId: string; turnId: string; headRevision: number }
  | { type: 'session_closed'; sessionId: string };

/** `${prefix}:commits`: inside the prefix's hash tag, beside the queue's own keys. */
export function commitFeedChannel(prefix: string): string {
  return `${prefix}:commits`;
}

/** Publishes one message; a Redis failure is swallowed (the streams' store poll covers it). */
export async function commitFeedPublish(redis: Redis, prefix: string, message: CommitFeedMessage): Promise<void> {
  try {
    await redis.publish(commitFeedChannel(prefix), JSON.stringify(message));
  } catch {
    // Delivery of the wake-up is best effort by design.
  }
}

/** Parses a message from the channel; null for anything malformed. */
export function commitFeedParse(raw: string): CommitFeedMessage | null {
  try {
    const value = JSON.parse(raw) as Partial<CommitFeedMessage> & Record<string, unknown>;
    if (typeof value.sessionId !== 'string') return null;
    if (value.type === 'session_closed') return { type: 'session_closed', sessionId: value.sessionId };
    if (value.type === 'commit' && typeof value.turnId === 'string' && typeof value.headRevision === 'number') {
      return { type: 'commit', sessionId: value.sessionId, turnId: value.turnId, headRevision: value.headRevision };
    }
    return null;
  } catch {
    return null;
  }
}
