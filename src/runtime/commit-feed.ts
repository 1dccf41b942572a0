/**
 * The commit feed: a Redis pub/sub channel under the queue prefix on which workers announce each
 * committed turn and servers announce closed sessions. It only wakes listeners (the SSE streams of
 * `GET /v1/sessions/:id/events`); they read what happened from Postgres. So the channel carries
 * ids and revisions only, never payload text, and a lost message (Redis restart, a subscriber
 * reconnecting) costs latency, not correctness: the streams also poll the store.
 *
 * A message on the channel is one CommitFeedMessage or a JSON array of them: a worker gathers the
 * commits of a few milliseconds into one PUBLISH (CommitFeedPublisher), because one socket write
 * per turn was about 5 % of a busy worker's CPU (bench/profile.ts --cpu-prof).
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

/** At most this many messages go into one PUBLISH. */
const MAX_GATHERED = 500;

/**
 * Gathers a worker's commit announcements for `flushMs` and publishes them as one array message.
 * Best effort like every publish here: a failure is swallowed.
 */
export class CommitFeedPublisher {
  private pending: CommitFeedMessage[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly flushMs = 5,
  ) {}

  add(message: CommitFeedMessage): void {
    this.pending.push(message);
    if (this.pending.length >= MAX_GATHERED) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.flushMs);
  }

  /** Publishes what is gathered now (also on close). */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    try {
      await this.redis.publish(commitFeedChannel(this.prefix), JSON.stringify(batch));
    } catch {
      // Delivery of the wake-up is best effort by design.
    }
  }
}

function parseOne(value: unknown): CommitFeedMessage | null {
  if (typeof value !== 'object' || value === null) return null;
  const m = value as Partial<CommitFeedMessage> & Record<string, unknown>;
  if (typeof m.sessionId !== 'string') return null;
  if (m.type === 'session_closed') return { type: 'session_closed', sessionId: m.sessionId };
  if (m.type === 'commit' && typeof m.turnId === 'string' && typeof m.headRevision === 'number') {
    return { type: 'commit', sessionId: m.sessionId, turnId: m.turnId, headRevision: m.headRevision };
  }
  return null;
}

/** Parses a message from the channel (one message or an array of them); malformed entries are dropped. */
export function commitFeedParse(raw: string): CommitFeedMessage[] {
  try {
    const value: unknown = JSON.parse(raw);
    const list = Array.isArray(value) ? value : [value];
    return list.map(parseOne).filter((m): m is CommitFeedMessage => m !== null);
  } catch {
    return [];
  }
}
