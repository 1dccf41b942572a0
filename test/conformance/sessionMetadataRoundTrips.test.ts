import { expect } from 'vitest';
import type { SessionMeta } from '../../src/store/contract.js';
import { conformance } from './harness.js';

// Twin of session_metadata_round_trips.
conformance('sessionMetadataRoundTrips', async (store) => {
  const meta: SessionMeta = {
    sessionId: 'root',
    sessionName: 'Conformance Root',
    createdAt: Date.UTC(2026, 5, 2),
    model: 'gpt-5.4-mini',
    cwd: '/tmp/lash-conformance',
    relation: { kind: 'root' },
  };
  await store.sessions.saveMeta(meta);
  const loaded = await store.sessions.loadMeta('root');
  expect(loaded).not.toBeNull();
  expect(loaded!.sessionId).toBe(meta.sessionId);
  expect(loaded!.sessionName).toBe(meta.sessionName);
  expect(loaded!.createdAt).toBe(meta.createdAt);
  expect(loaded!.model).toBe(meta.model);
  expect(loaded!.cwd).toBe(meta.cwd);
  expect(loaded!.relation).toEqual(meta.relation);
  expect(loaded).toEqual(meta);

  // A child session with no working directory round-trips too, and metadata is per session.
  const child: SessionMeta = {
    sessionId: 'child-1',
    sessionName: 'Child',
    createdAt: Date.UTC(2026, 5, 2, 0, 0, 1),
    model: 'gpt-5.4-mini',
    cwd: null,
    relation: { kind: 'child', parentSessionId: 'root' },
  };
  await store.sessions.saveMeta(child);
  expect(await store.sessions.loadMeta('child-1')).toEqual(child);
  expect(await store.sessions.loadMeta('root')).toEqual(meta);
  expect(await store.sessions.loadMeta('unknown')).toBeNull();
});
