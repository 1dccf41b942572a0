/**
 * Fans the commit feed (src/runtime/commit-feed.ts) out to this server's SSE streams: one Redis
 * subscriber connection per server, listeners keyed by session id. A local `notify` serves
 * closes made by this very server even while Redis is away.
 */
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { commitFeedChannel, commitFeedParse, type CommitFeedMessage } from '../runtime/commit-feed.js';

export interface CommitHub {
  /** Calls `listener` for each message about `sessionId`; returns the unsubscribe function. */
  listen(sessionId: string, listener: (message: CommitFeedMessage) => void): () => void;
  notify(message: CommitFeedMessage): void;
  close(): Promise<void>;
}

export async function createCommitHub(subscriber: Redis | null, prefix: string, log: Logger): Promise<CommitHub> {
  const emitter = new EventEmitter();
  // One listener per open stream; thousands of streams are expected on a busy server.
  emitter.setMaxListeners(0);
  if (subscriber) {
    subscriber.on('message', (_channel: string, raw: string) => {
      for (const message of commitFeedParse(raw)) emitter.emit(message.sessionId, message);
    });
    // Not awaited: with Redis away at start this waits for it, and the server must listen meanwhile.
    // ioredis re-subscribes after reconnecting; until then streams fall back to polling.
    subscriber.subscribe(commitFeedChannel(prefix)).catch((err: unknown) => {
      log.warn({ err }, 'commit feed subscription failed; event streams poll the store until Redis is back');
    });
  }
  return {
    listen(sessionId, listener) {
      emitter.on(sessionId, listener);
      return () => emitter.off(sessionId, listener);
    },
    notify(message) {
      emitter.emit(message.sessionId, message);
    },
    async close() {
      emitter.removeAllListeners();
      subscriber?.disconnect();
    },
  };
}
