/**
 * 20 concurrent enqueues of each of 200 source keys, from 8 store instances: 200 batches, and
 * every caller of a key gets the same batch.
 */
import { describe, expect, it } from 'vitest';
import { raceStores, textDraft } from './support.js';

const KEYS = 200;
const CALLERS = 20;
/** Keys raced at the same time: 4 × 20 = 80 enqueues in flight over 16 connections. */
const KEYS_AT_ONCE = 4;
const fx = raceStores(8);

describe('race: concurrent enqueues of one source key', () => {
  it(`${CALLERS} callers × ${KEYS} keys: one batch per key, every caller the same id`, async () => {
    const s = 'source-keys';
    const idsByKey = new Map<string, string[]>();
    for (let k = 0; k < KEYS; k += KEYS_AT_ONCE) {
      const keys = Array.from({ length: Math.min(KEYS_AT_ONCE, KEYS - k) }, (_, i) => `key-${k + i}`);
      await Promise.all(
        keys.flatMap((key) =>
          Array.from({ length: CALLERS }, async (_, caller) => {
            const batch = await fx.stores[caller % fx.stores.length]!.queue.enqueue(textDraft(s, `${key} from ${caller}`, key));
            expect(batch.sourceKey).toBe(key);
            idsByKey.set(key, [...(idsByKey.get(key) ?? []), batch.batchId]);
          }),
        ),
      );
    }
    const listed = await fx.stores[0]!.queue.list(s);
    expect(listed).toHaveLength(KEYS);
    const listedByKey = new Map(listed.map((b) => [b.sourceKey, b.batchId]));
    for (const [key, ids] of idsByKey) {
      expect(ids).toHaveLength(CALLERS);
      expect(new Set(ids).size, key).toBe(1);
      expect(listedByKey.get(key)).toBe(ids[0]);
    }
  }, 60_000);
});
