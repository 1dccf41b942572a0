import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AttachmentNotFoundError, InvalidInputError } from '../../src/errors.js';
import {
  contentId,
  createInMemoryAttachmentStore,
  reclaimOrphanedAttachments,
  SessionScopedAttachmentStore,
} from '../../src/store/attachments/index.js';
import type { AttachmentIntent, AttachmentManifest, AttachmentManifestRow, AttachmentStore } from '../../src/store/contract.js';
import { createInMemoryStore } from '../../src/store/memory/index.js';

const meta = { mediaType: 'image/png' };
const bytes = (...values: number[]) => Uint8Array.from(values);

/** A manifest that records calls and can be told to fail, wrapped around the reference store's. */
function recordingManifest(inner: AttachmentManifest, events: string[], failIntent = false): AttachmentManifest {
  return {
    async recordIntent(intent: AttachmentIntent) {
      events.push(`intent:${intent.attachmentId}`);
      if (failIntent) throw new Error('manifest down');
      await inner.recordIntent(intent);
    },
    commitRefs: (sessionId, ids) => inner.commitRefs(sessionId, ids),
    listUncommitted: (olderThanMs) => inner.listUncommitted(olderThanMs),
    isReferenced: (id, olderThanMs) => inner.isReferenced(id, olderThanMs),
    forget: (sessionId, id) => inner.forget(sessionId, id),
  };
}

describe('contentId', () => {
  it('is the lowercase hex SHA-256 of the bytes', () => {
    expect(contentId(bytes())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(contentId(bytes(1, 2, 3))).toBe(createHash('sha256').update(bytes(1, 2, 3)).digest('hex'));
  });
});

describe('createInMemoryAttachmentStore', () => {
  it('assigns identity and length from the bytes and round-trips them', async () => {
    const store = createInMemoryAttachmentStore();
    const ref = await store.put(bytes(4, 5, 6, 7), { mediaType: 'image/png', width: 2, height: 2, label: 'dot' });
    expect(ref).toEqual({ id: contentId(bytes(4, 5, 6, 7)), mediaType: 'image/png', byteLength: 4, width: 2, height: 2, label: 'dot' });
    const stored = await store.get(ref.id);
    expect(Array.from(stored.bytes)).toEqual([4, 5, 6, 7]);
    expect(stored.meta).toEqual(ref);
  });

  it('keeps its own copy of the bytes', async () => {
    const store = createInMemoryAttachmentStore();
    const input = bytes(1, 2, 3);
    const ref = await store.put(input, meta);
    input[0] = 9;
    (await store.get(ref.id)).bytes[1] = 9;
    expect(Array.from((await store.get(ref.id)).bytes)).toEqual([1, 2, 3]);
  });

  it('throws AttachmentNotFoundError for a missing id, and delete is idempotent', async () => {
    const store = createInMemoryAttachmentStore();
    const ref = await store.put(bytes(1), meta);
    await store.delete(ref.id);
    await store.delete(ref.id);
    await expect(store.get(ref.id)).rejects.toBeInstanceOf(AttachmentNotFoundError);
    await expect(store.get(ref.id)).rejects.toMatchObject({ code: 'ATTACHMENT_NOT_FOUND' });
  });

  it('refuses a put without a media type', async () => {
    const store = createInMemoryAttachmentStore();
    await expect(store.put(bytes(1), { mediaType: '' })).rejects.toBeInstanceOf(InvalidInputError);
  });
});

describe('SessionScopedAttachmentStore', () => {
  it('records the intent at store time before the put and tracks the id until marked committed', async () => {
    const runtime = createInMemoryStore();
    const events: string[] = [];
    const inner = createInMemoryAttachmentStore();
    const innerWatched: AttachmentStore = {
      put: async (b, m) => (events.push('put'), inner.put(b, m)),
      get: (id) => inner.get(id),
      delete: (id) => inner.delete(id),
    };
    const scoped = new SessionScopedAttachmentStore(innerWatched, recordingManifest(runtime.attachments, events), 'session-1');

    const before = await runtime.clock.nowMs();
    const ref = await scoped.put(bytes(8, 9, 10), meta);
    const after = await runtime.clock.nowMs();
    expect(events).toEqual([`intent:${ref.id}`, 'put']);

    const [row] = await runtime.attachments.listUncommitted(after);
    expect(row).toMatchObject({ sessionId: 'session-1', attachmentId: ref.id, canonicalUri: `sha256:${ref.id}`, committedAtMs: null });
    expect(row!.intentAtMs).toBeGreaterThanOrEqual(before);
    expect(row!.intentAtMs).toBeLessThanOrEqual(after);

    expect(scoped.pendingManifestCommitIds()).toEqual([ref.id]);
    scoped.markManifestCommitted(['other']);
    expect(scoped.pendingManifestCommitIds()).toEqual([ref.id]);
    scoped.markManifestCommitted([ref.id]);
    expect(scoped.pendingManifestCommitIds()).toEqual([]);

    expect(Array.from((await scoped.get(ref.id)).bytes)).toEqual([8, 9, 10]);
    await scoped.delete(ref.id);
    await expect(inner.get(ref.id)).rejects.toBeInstanceOf(AttachmentNotFoundError);
  });

  it('fails without putting when the intent cannot be recorded', async () => {
    const runtime = createInMemoryStore();
    const inner = createInMemoryAttachmentStore();
    const scoped = new SessionScopedAttachmentStore(inner, recordingManifest(runtime.attachments, [], true), 'session-1');
    await expect(scoped.put(bytes(1, 2), meta)).rejects.toThrow();
    await expect(inner.get(contentId(bytes(1, 2)))).rejects.toBeInstanceOf(AttachmentNotFoundError);
    expect(scoped.pendingManifestCommitIds()).toEqual([]);
  });
});

describe('reclaimOrphanedAttachments', () => {
  async function setup() {
    const runtime = createInMemoryStore();
    const content = createInMemoryAttachmentStore();
    const orphan = await content.put(bytes(1), meta);
    const shared = await content.put(bytes(2), meta);
    const fresh = await content.put(bytes(3), meta);
    const intent = (sessionId: string, attachmentId: string, intentAtMs: number) =>
      runtime.attachments.recordIntent({ sessionId, attachmentId, canonicalUri: `sha256:${attachmentId}`, intentAtMs });
    await intent('a', orphan.id, 100);
    await intent('a', shared.id, 100);
    await intent('b', shared.id, 100);
    await runtime.attachments.commitRefs('b', [shared.id]);
    await intent('a', fresh.id, 100);
    await intent('b', fresh.id, 500);
    return { runtime, content, orphan, shared, fresh };
  }

  it('deletes only content no session committed or recently recorded, and forgets every aged intent', async () => {
    const { runtime, content, orphan, shared, fresh } = await setup();
    const report = await reclaimOrphanedAttachments(runtime.attachments, content, 200);
    expect(report).toEqual({ scannedIntentCount: 3, reclaimedCount: 3 });
    await expect(content.get(orphan.id)).rejects.toBeInstanceOf(AttachmentNotFoundError);
    expect(Array.from((await content.get(shared.id)).bytes)).toEqual([2]);
    expect(Array.from((await content.get(fresh.id)).bytes)).toEqual([3]);
    const left: AttachmentManifestRow[] = await runtime.attachments.listUncommitted(1_000);
    expect(left.map((row) => [row.sessionId, row.attachmentId])).toEqual([['b', fresh.id]]);
    expect(await runtime.attachments.isReferenced(shared.id, 200)).toBe(true);
  });

  it('finds nothing to do on a second run', async () => {
    const { runtime, content } = await setup();
    await reclaimOrphanedAttachments(runtime.attachments, content, 200);
    expect(await reclaimOrphanedAttachments(runtime.attachments, content, 200)).toEqual({ scannedIntentCount: 0, reclaimedCount: 0 });
  });
});
