import { expect } from 'vitest';
import { conformance } from './harness.js';
import { taskRequest } from './task-session-support.js';

// Twin of storage_write_through (seed 000): every change is visible through another store instance.
conformance('taskSessionStorageWriteThrough', async (store, ctx) => {
  const other = await ctx.open();
  const session = await store.sessions.create(taskRequest({ sessionId: 'write-through' }));
  expect((await other.sessions.get('write-through'))!.callsMade).toBe(0);
  await store.sessions.useTools(session.sessionId, ['read_file']);
  expect((await other.sessions.get('write-through'))!.callsMade).toBe(1);
  await store.sessions.close(session.sessionId);
  expect((await other.sessions.get('write-through'))!.status).toBe('closed');
  expect(await other.sessions.get('write-through')).toEqual(await store.sessions.get('write-through'));
});
