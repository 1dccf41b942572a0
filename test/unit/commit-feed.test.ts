import { describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { CommitFeedPublisher, commitFeedChannel, commitFeedParse } from '../../src/runtime/commit-feed.js';

function fakeRedis() {
  const published: [string, string][] = [];
  return { published, redis: { publish: async (channel: string, raw: string) => void published.push([channel, raw]) } as unknown as Redis };
}

describe('commit feed', () => {
  it('gathers the commits of one flush window into one PUBLISH of an array', async () => {
    const { published, redis } = fakeRedis();
    const feed = new CommitFeedPublisher(redis, '{p}', 20);
    feed.add({ type: 'commit', sessionId: 's1', turnId: 't1', headRevision: 1 });
    feed.add({ type: 'commit', sessionId: 's2', turnId: 't2', headRevision: 7 });
    expect(published).toHaveLength(0);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(published).toHaveLength(1);
    expect(published[0]![0]).toBe(commitFeedChannel('{p}'));
    expect(commitFeedParse(published[0]![1])).toEqual([
      { type: 'commit', sessionId: 's1', turnId: 't1', headRevision: 1 },
      { type: 'commit', sessionId: 's2', turnId: 't2', headRevision: 7 },
    ]);
    // flush() sends what is gathered at once (close), and nothing when empty.
    feed.add({ type: 'commit', sessionId: 's3', turnId: 't3', headRevision: 2 });
    await feed.flush();
    await feed.flush();
    expect(published).toHaveLength(2);
  });

  it('parses single messages and arrays, dropping malformed entries', () => {
    expect(commitFeedParse(JSON.stringify({ type: 'session_closed', sessionId: 's' }))).toEqual([{ type: 'session_closed', sessionId: 's' }]);
    expect(commitFeedParse(JSON.stringify([{ type: 'commit', sessionId: 's', turnId: 't', headRevision: '1' }, { type: 'session_closed', sessionId: 'x' }, null]))).toEqual([
      { type: 'session_closed', sessionId: 'x' },
    ]);
    expect(commitFeedParse('not json')).toEqual([]);
  });
});
