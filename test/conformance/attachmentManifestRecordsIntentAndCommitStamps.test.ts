import { expect } from 'vitest';
import { conformance } from './harness.js';
import { attachmentIntent, commitForTest, stateCommit } from './support.js';

// Twin of attachment_manifest_records_intent_and_commit_stamps.
conformance('attachmentManifestRecordsIntentAndCommitStamps', async (store) => {
  const committedByRuntime = 'runtime-commit';
  const committedOutOfBand = 'manual-commit';
  const orphan = 'orphan';
  for (const id of [committedByRuntime, committedOutOfBand, orphan]) {
    await store.attachments.recordIntent(attachmentIntent(id));
  }

  const uncommitted = await store.attachments.listUncommitted(200);
  expect(uncommitted).toHaveLength(3);
  // Ordered by (attachmentId, sessionId).
  expect(uncommitted.map((row) => row.attachmentId)).toEqual([committedOutOfBand, orphan, committedByRuntime]);
  for (const row of uncommitted) {
    expect(row).toEqual({ sessionId: 'root', attachmentId: row.attachmentId, canonicalUri: `sha256:${row.attachmentId}`, intentAtMs: 100, committedAtMs: null });
  }
  // The cutoff is inclusive and excludes younger intents.
  expect(await store.attachments.listUncommitted(100)).toHaveLength(3);
  expect(await store.attachments.listUncommitted(99)).toEqual([]);

  await store.attachments.commitRefs('root', [committedOutOfBand, 'never-recorded']);
  // Another session's commit does not stamp root's rows.
  await store.attachments.commitRefs('other', [orphan]);
  await commitForTest(store, stateCommit('root', undefined, { committedAttachmentIds: [committedByRuntime] }), 'attachment-manifest');

  const stillUncommitted = await store.attachments.listUncommitted(200);
  expect(stillUncommitted).toHaveLength(1);
  expect(stillUncommitted[0]!.attachmentId).toBe(orphan);
  expect(stillUncommitted[0]!.committedAtMs).toBeNull();

  // Re-recording an intent never erases a commit stamp.
  await store.attachments.recordIntent(attachmentIntent(committedOutOfBand, 'root', 150));
  expect((await store.attachments.listUncommitted(200)).map((row) => row.attachmentId)).toEqual([orphan]);

  expect(await store.attachments.isReferenced(committedOutOfBand, 200)).toBe(true);
  expect(await store.attachments.isReferenced(committedByRuntime, 200)).toBe(true);
  expect(await store.attachments.isReferenced(orphan, 200)).toBe(false);
  // An intent recorded after the cutoff may still be on its way to a commit.
  expect(await store.attachments.isReferenced(orphan, 50)).toBe(true);

  await store.attachments.forget('root', orphan);
  expect(await store.attachments.listUncommitted(200)).toEqual([]);
  expect(await store.attachments.isReferenced(orphan, 50)).toBe(false);
  // Forgetting a missing row is not an error.
  await store.attachments.forget('root', orphan);
});
