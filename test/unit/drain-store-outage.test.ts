/**
 * A turn that fails because the store is out of reach (StoreUnavailableError from a checkpoint or
 * a tool-policy call) is not the input's fault: no attempt is counted, so repeated outages never
 * dead-letter an innocent input (found by the postgres-restart work). A thrown error of the
 * handler's own still counts.
 */
import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/errors.js';
import type { TurnHandler } from '../../src/runtime/turn.js';
import { createInMemoryStore } from '../../src/store/memory/index.js';
import { turnInputDraft } from '../../src/store/drafts.js';
import type { RuntimeStore } from '../../src/store/contract.js';
import { drainForTest } from '../helpers/drain.js';

const owner = { ownerId: 'w', incarnationId: 'w:1' };

async function drainOnce(store: RuntimeStore, handler: TurnHandler) {
  const taken = await store.leases.tryClaim('s', owner, 30_000);
  if (taken.kind !== 'acquired') throw new Error('busy');
  return drainForTest(store, owner, taken.lease, handler);
}

describe('a turn that meets a store outage', () => {
  it('counts no attempt, however often it happens', async () => {
    const store = createInMemoryStore();
    const batch = await store.queue.enqueue(turnInputDraft('s', 'hello', 'after_current_turn_commit', 'exclusive'));
    for (let i = 0; i < 5; i++) {
      const report = await drainOnce(store, async () => {
        throw new StoreUnavailableError('the database cannot be reached', { code: 'ECONNREFUSED' });
      });
      expect(report).toMatchObject({ failed: 0, lost: true, committed: 0 });
    }
    expect(await store.queue.listDeadLetters('s')).toEqual([]);
    expect((await store.queue.get(batch.batchId))?.batchId).toBe(batch.batchId);
  });

  it('still counts the handler’s own failures, up to a dead letter', async () => {
    const store = createInMemoryStore();
    await store.queue.enqueue(turnInputDraft('s', 'hello', 'after_current_turn_commit', 'exclusive'));
    for (let i = 0; i < 3; i++) {
      await drainOnce(store, async () => {
        throw new Error('boom');
      });
    }
    const letters = await store.queue.listDeadLetters('s');
    expect(letters.map((l) => [l.attempts, l.reason])).toEqual([[3, 'Error: boom']]);
  });
});
