import { expect } from 'vitest';
import { AttachmentNotFoundError } from '../../src/errors.js';
import type { AttachmentCreateMeta, AttachmentManifest, AttachmentRef, AttachmentStore } from '../../src/store/contract.js';
import { contentId, createInMemoryAttachmentStore, SessionScopedAttachmentStore } from '../../src/store/attachments/index.js';
import { conformance } from './harness.js';
import { commitForTest, expectTypedError, stateCommit, utf8 } from './support.js';

const PNG = { mediaType: 'image/png', width: 1, height: 1 };

// From seed 004 (SessionScopedAttachmentStore::put): the write-ahead intent exists before the bytes
// are written; a failed intent means no put.
conformance('sessionScopedAttachmentStoreRecordsIntentBeforePut', async (store) => {
  const backing = createInMemoryAttachmentStore();
  const observations: Array<{ id: string; intentRecorded: boolean; referenced: boolean }> = [];
  let innerPuts = 0;
  const observingInner: AttachmentStore = {
    async put(bytes: Uint8Array, meta: AttachmentCreateMeta): Promise<AttachmentRef> {
      innerPuts += 1;
      const id = contentId(bytes);
      const rows = await store.attachments.listUncommitted(Number.MAX_SAFE_INTEGER);
      observations.push({
        id,
        intentRecorded: rows.some((row) => row.sessionId === 'root' && row.attachmentId === id && row.committedAtMs === null),
        referenced: await store.attachments.isReferenced(id, 0),
      });
      return backing.put(bytes, meta);
    },
    get: (id) => backing.get(id),
    delete: (id) => backing.delete(id),
  };

  const scoped = new SessionScopedAttachmentStore(observingInner, store.attachments, 'root');
  const bytes = utf8('pixel');
  const ref = await scoped.put(bytes, PNG);
  expect(ref.id).toBe(contentId(bytes));
  expect(observations).toEqual([{ id: ref.id, intentRecorded: true, referenced: true }]);
  expect(scoped.pendingManifestCommitIds()).toEqual([ref.id]);
  const [row] = await store.attachments.listUncommitted(Number.MAX_SAFE_INTEGER);
  expect(row).toMatchObject({ sessionId: 'root', attachmentId: ref.id, committedAtMs: null });
  expect(row!.intentAtMs).toBeGreaterThan(1_000_000_000_000);
  expect((await scoped.get(ref.id)).meta.id).toBe(ref.id);

  // A failing intent means no put.
  const failingManifest: AttachmentManifest = {
    recordIntent: async () => {
      throw new Error('manifest unavailable');
    },
    commitRefs: (sessionId, ids) => store.attachments.commitRefs(sessionId, ids),
    listUncommitted: (olderThanMs) => store.attachments.listUncommitted(olderThanMs),
    isReferenced: (id, olderThanMs) => store.attachments.isReferenced(id, olderThanMs),
    forget: (sessionId, id) => store.attachments.forget(sessionId, id),
  };
  const unrecorded = utf8('never written');
  const refused = new SessionScopedAttachmentStore(observingInner, failingManifest, 'root');
  await expect(refused.put(unrecorded, PNG)).rejects.toThrow();
  expect(innerPuts).toBe(1);
  expect(refused.pendingManifestCommitIds()).toEqual([]);
  await expectTypedError(backing.get(contentId(unrecorded)), AttachmentNotFoundError, 'ATTACHMENT_NOT_FOUND');

  // A failing put leaves the intent (for the orphan sweep) but nothing to commit.
  const failingInner: AttachmentStore = {
    put: async () => {
      throw new Error('disk full');
    },
    get: (id) => backing.get(id),
    delete: (id) => backing.delete(id),
  };
  const lost = utf8('lost');
  const failing = new SessionScopedAttachmentStore(failingInner, store.attachments, 'root');
  await expect(failing.put(lost, PNG)).rejects.toThrow();
  expect(failing.pendingManifestCommitIds()).toEqual([]);
  expect((await store.attachments.listUncommitted(Number.MAX_SAFE_INTEGER)).map((r) => r.attachmentId).sort()).toEqual([ref.id, contentId(lost)].sort());

  // The pending ids are what the next turn commit stamps.
  await commitForTest(store, stateCommit('root', undefined, { committedAttachmentIds: scoped.pendingManifestCommitIds() }), 'owner');
  expect((await store.attachments.listUncommitted(Number.MAX_SAFE_INTEGER)).map((r) => r.attachmentId)).toEqual([contentId(lost)]);
  scoped.markManifestCommitted(['some-other-id']);
  expect(scoped.pendingManifestCommitIds()).toEqual([ref.id]);
  scoped.markManifestCommitted([ref.id]);
  expect(scoped.pendingManifestCommitIds()).toEqual([]);
});
