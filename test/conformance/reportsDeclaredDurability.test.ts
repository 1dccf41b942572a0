import { expect } from 'vitest';
import { conformance } from './harness.js';

// Twin of runtime_persistence_reports_declared_durability.
conformance('reportsDeclaredDurability', async (store, ctx) => {
  expect(store.durability).toBe(ctx.expectedDurability);
  const reopened = await ctx.open();
  expect(reopened.durability).toBe(ctx.expectedDurability);
});
