import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import { AttachmentNotFoundError } from '../../src/errors.js';
import type { AttachmentStore } from '../../src/store/contract.js';
import { contentId, createInMemoryAttachmentStore, reclaimOrphanedAttachments, SessionScopedAttachmentStore } from '../../src/store/attachments/index.js';
import { createPostgresAttachmentStore } from '../../src/store/postgres/attachments-content.js';
import { conformance } from './harness.js';
import { bytesOf, commitForTest, expectTypedError, stateCommit, utf8 } from './support.js';

const PNG = { mediaType: 'image/png', width: 1, height: 1, label: 'pixel' };

// From seed 004 (reclaim_orphaned_attachments, content-addressed sharing): bytes that any session has
// committed are never deleted by the orphan sweep, while truly orphaned bytes are.
conformance('attachmentContentSharedAcrossSessionsIsNeverReclaimedWhileCommitted', async (store, ctx) => {
  const content: AttachmentStore = ctx.databaseUrl === undefined
    ? createInMemoryAttachmentStore()
    : createPostgresAttachmentStore({ databaseUrl: ctx.databaseUrl });
  try {
    const shared = utf8('shared pixel');
    const sharedId = createHash('sha256').update(shared).digest('hex');
    expect(contentId(shared)).toBe(sharedId);

    const sessionA = new SessionScopedAttachmentStore(content, store.attachments, 'session-a');
    const sessionB = new SessionScopedAttachmentStore(content, store.attachments, 'session-b');
    const refA = await sessionA.put(shared, PNG);
    const refB = await sessionB.put(shared, PNG);
    expect(refA.id).toBe(sharedId);
    expect(refB.id).toBe(sharedId);
    expect(refA).toMatchObject({ id: sharedId, mediaType: 'image/png', byteLength: shared.length, width: 1, height: 1, label: 'pixel' });
    const stored = await content.get(sharedId);
    expect(bytesOf(stored.bytes)).toEqual(Array.from(shared));
    expect(stored.meta.id).toBe(sharedId);

    // Session A commits the content; session B never does.
    const pendingA = sessionA.pendingManifestCommitIds();
    expect(pendingA).toEqual([sharedId]);
    await commitForTest(store, stateCommit('session-a', undefined, { committedAttachmentIds: pendingA }), 'owner-a');
    sessionA.markManifestCommitted(pendingA);
    expect(sessionA.pendingManifestCommitIds()).toEqual([]);
    expect(sessionB.pendingManifestCommitIds()).toEqual([sharedId]);

    // Session C leaves a true orphan.
    const orphan = utf8('orphan bytes');
    const sessionC = new SessionScopedAttachmentStore(content, store.attachments, 'session-c');
    const orphanRef = await sessionC.put(orphan, PNG);

    // Every intent so far is older than the cutoff; the ones recorded after it are in flight.
    const cutoff = Math.max(Date.now(), await store.clock.nowMs()) + 60_000;
    const inFlight = utf8('in flight');
    const inFlightId = contentId(inFlight);
    await store.attachments.recordIntent({ sessionId: 'session-d', attachmentId: inFlightId, canonicalUri: `sha256:${inFlightId}`, intentAtMs: cutoff + 1 });
    await content.put(inFlight, PNG);
    // Content with an old uncommitted intent in one session and a young one in another is kept.
    const young = utf8('young elsewhere');
    const youngId = contentId(young);
    await new SessionScopedAttachmentStore(content, store.attachments, 'session-e').put(young, PNG);
    await store.attachments.recordIntent({ sessionId: 'session-f', attachmentId: youngId, canonicalUri: `sha256:${youngId}`, intentAtMs: cutoff + 1 });

    expect((await store.attachments.listUncommitted(cutoff)).map((row) => [row.attachmentId, row.sessionId])).toEqual(
      [[sharedId, 'session-b'], [orphanRef.id, 'session-c'], [youngId, 'session-e']].sort((x, y) => (x[0]! < y[0]! ? -1 : x[0]! > y[0]! ? 1 : 0)),
    );
    expect(await store.attachments.isReferenced(sharedId, cutoff)).toBe(true);
    expect(await store.attachments.isReferenced(orphanRef.id, cutoff)).toBe(false);
    expect(await store.attachments.isReferenced(youngId, cutoff)).toBe(true);

    const report = await reclaimOrphanedAttachments(store.attachments, content, cutoff);
    expect(report).toEqual({ scannedIntentCount: 3, reclaimedCount: 3 });

    // The shared content that session A committed survives; so does content still in flight.
    expect(bytesOf((await content.get(sharedId)).bytes)).toEqual(Array.from(shared));
    expect(bytesOf((await content.get(youngId)).bytes)).toEqual(Array.from(young));
    expect(bytesOf((await content.get(inFlightId)).bytes)).toEqual(Array.from(inFlight));
    // The orphan's bytes are gone.
    await expectTypedError(content.get(orphanRef.id), AttachmentNotFoundError, 'ATTACHMENT_NOT_FOUND');
    expect(await store.attachments.listUncommitted(cutoff)).toEqual([]);
    expect((await store.attachments.listUncommitted(cutoff + 1)).map((row) => row.sessionId).sort()).toEqual(['session-d', 'session-f']);
    expect(await store.attachments.isReferenced(sharedId, cutoff)).toBe(true);

    // A second sweep finds nothing to do.
    expect(await reclaimOrphanedAttachments(store.attachments, content, cutoff)).toEqual({ scannedIntentCount: 0, reclaimedCount: 0 });
    expect(bytesOf((await content.get(sharedId)).bytes)).toEqual(Array.from(shared));

    // Deleting content is idempotent.
    await content.delete(orphanRef.id);
  } finally {
    await (content as Partial<{ close(): Promise<void> }>).close?.();
  }
});
