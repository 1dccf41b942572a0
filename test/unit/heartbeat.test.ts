/**
 * The process heartbeat: every drain's lease and claims renewed in one store call per interval,
 * and a lost item stops only its own holder.
 */
import { describe, expect, it } from 'vitest';
import type { RenewHeldRequest, RuntimeStore, SessionLease } from '../../src/store/contract.js';
import { createInMemoryStore } from '../../src/store/memory/index.js';
import { leaseFence, turnInputDraft } from '../../src/store/drafts.js';
import { Heartbeat, Renewer } from '../../src/runtime/heartbeat.js';
import { ClaimList } from '../../src/runtime/claim-list.js';

const TTL = 300;

/** The memory store with its renewal calls recorded. */
function recordingStore(): { store: RuntimeStore; renewHeld: RenewHeldRequest[]; single: number } {
  const store = createInMemoryStore();
  const calls = { renewHeld: [] as RenewHeldRequest[], single: 0 };
  const leases = { ...store.leases };
  leases.renewHeld = async (req) => {
    calls.renewHeld.push(req);
    return store.leases.renewHeld(req);
  };
  leases.renew = async (fence, ttl) => {
    calls.single++;
    return store.leases.renew(fence, ttl);
  };
  const queue = { ...store.queue, renewClaim: async (...args: Parameters<RuntimeStore['queue']['renewClaim']>) => (calls.single++, store.queue.renewClaim(...args)) };
  return { store: { ...store, leases, queue }, get renewHeld() { return calls.renewHeld; }, get single() { return calls.single; } };
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 10));
}

async function holding(store: RuntimeStore, sessionId: string): Promise<{ lease: SessionLease; claim: NonNullable<Awaited<ReturnType<RuntimeStore['queue']['claimReady']>>> }> {
  await store.queue.enqueue(turnInputDraft(sessionId, 'hi', 'after_current_turn_commit', 'exclusive'));
  const owner = { ownerId: 'worker', incarnationId: 'w-1' };
  const acquired = await store.leases.tryClaim(sessionId, owner, TTL);
  if (acquired.kind !== 'acquired') throw new Error('busy');
  const claim = await store.queue.claimReady({ sessionId, fence: leaseFence(acquired.lease), owner, boundary: 'idle', ttlMs: TTL, maxBatches: 1 });
  return { lease: acquired.lease, claim: claim! };
}

describe('process heartbeat', () => {
  it('renews 20 sessions and their claims in one call per interval, never one call per session', async () => {
    const rec = recordingStore();
    const renewer = new Renewer({ store: rec.store, ttlMs: TTL });
    const lost: string[] = [];
    const beats: Heartbeat[] = [];
    const started: SessionLease[] = [];
    for (let i = 0; i < 20; i++) {
      const { lease, claim } = await holding(rec.store, `s${i}`);
      started.push(lease);
      const claims = new ClaimList();
      claims.add(claim);
      const beat = new Heartbeat({ store: rec.store, lease, ttlMs: TTL, renewer, claims: () => claims, onLost: () => lost.push(lease.sessionId) });
      beat.start();
      beats.push(beat);
    }
    await until(() => rec.renewHeld.filter((r) => r.leases.length === 20).length >= 2);
    await Promise.all(beats.map((b) => b.stop()));
    expect(rec.single).toBe(0);
    // Every call that ran with all 20 registered carried all 20 leases and claims.
    const full = rec.renewHeld.filter((r) => r.leases.length === 20);
    expect(full.length).toBeGreaterThanOrEqual(2);
    for (const req of full) expect(req.claims).toHaveLength(20);
    expect(lost).toEqual([]);
    // Each holder now carries the lease the store returned from renewal, not the one it started with.
    for (const [i, beat] of beats.entries()) expect(beat.currentLease()).not.toBe(started[i]);
  });

  it('a lost lease stops only its holder; a paused holder is left out', async () => {
    const rec = recordingStore();
    const renewer = new Renewer({ store: rec.store, ttlMs: TTL });
    const lost: string[] = [];
    const make = async (sessionId: string) => {
      const { lease, claim } = await holding(rec.store, sessionId);
      const claims = new ClaimList();
      claims.add(claim);
      const beat = new Heartbeat({ store: rec.store, lease, ttlMs: TTL, renewer, claims: () => claims, onLost: () => lost.push(sessionId) });
      return beat;
    };
    const [keep, drop, paused] = [await make('keep'), await make('drop'), await make('paused')];
    await rec.store.leases.release(leaseFence(drop.currentLease()));
    await paused.pause();
    for (const b of [keep, drop, paused]) b.start();
    await until(() => lost.length > 0 && rec.renewHeld.length >= 2);
    expect(lost).toEqual(['drop']);
    expect(drop.isLost).toBe(true);
    expect(keep.isLost).toBe(false);
    expect(rec.renewHeld.every((r) => !r.leases.some((f) => f.sessionId === 'paused'))).toBe(true);
    await Promise.all([keep, drop, paused].map((b) => b.stop()));
  });
});
