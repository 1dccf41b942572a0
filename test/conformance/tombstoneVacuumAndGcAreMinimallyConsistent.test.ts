import { expect } from 'vitest';
import { conformance } from './harness.js';
import { commitForTest, minimalState, sampleNode, stateCommit } from './support.js';

// Twin of tombstone_vacuum_and_gc_are_minimally_consistent.
conformance('tombstoneVacuumAndGcAreMinimallyConsistent', async (store) => {
  const nodes = [sampleNode('node-live', null), sampleNode('node-delete', 'node-live')];
  await commitForTest(store, stateCommit('root', minimalState({ graph: { kind: 'replace', nodes, leafNodeId: 'node-delete' } })), 'tombstone');
  expect(await store.sessions.loadNode('root', 'node-delete')).not.toBeNull();

  await store.maintenance.tombstoneNodes('root', ['node-delete', 'unknown-node']);
  // Tombstoned nodes are hidden from direct loads and from graph loads.
  expect(await store.sessions.loadNode('root', 'node-delete')).toBeNull();
  expect(await store.sessions.loadNode('root', 'node-live')).toEqual(nodes[0]);
  const read = await store.sessions.load('root', { kind: 'full_graph' });
  expect(read!.graph.nodes.map((node) => node.nodeId)).toEqual(['node-live']);
  const path = await store.sessions.load('root', { kind: 'active_path' });
  expect(path!.graph.nodes.some((node) => node.nodeId === 'node-delete')).toBe(false);

  // Vacuum reports only what this call removed. node-delete is the stored leaf: the next turn
  // appends below it, so vacuum keeps it (hidden) until a commit moves the leaf.
  const vacuum = await store.maintenance.vacuum();
  expect(vacuum.removedNodeCount).toBeLessThanOrEqual(1);
  expect(vacuum.removedNodeCount).toBe(0);
  expect((await store.sessions.load('root', { kind: 'active_path' }))!.graph.nodes.map((node) => node.nodeId)).toEqual(['node-live']);
  expect(await store.sessions.loadNode('root', 'node-delete')).toBeNull();

  // gcUnreachable keeps the head checkpoint and deletes the superseded one, once.
  await commitForTest(store, stateCommit('root', minimalState({ checkpoint: { turnIndex: 1 }, graph: { kind: 'unchanged', leafNodeId: 'node-live' } })), 'tombstone-2');
  // The leaf moved: now vacuum removes node-delete, once.
  expect((await store.maintenance.vacuum()).removedNodeCount).toBe(1);
  const again = await store.maintenance.vacuum();
  expect(again.removedNodeCount).toBe(0);
  expect(again.removedSourceKeyCount).toBe(0);
  expect(await store.sessions.loadNode('root', 'node-delete')).toBeNull();
  const gc = await store.maintenance.gcUnreachable();
  expect(gc).toEqual({ rootCount: 1, retainedCount: 1, deletedCount: 1 });
  const secondGc = await store.maintenance.gcUnreachable();
  expect(secondGc.deletedCount).toBe(0);
  expect(secondGc.retainedCount).toBe(1);
  const after = await store.sessions.load('root', { kind: 'full_graph' });
  expect(after!.headRevision).toBe(2);
  expect(after!.checkpoint!.turnIndex).toBe(1);
  expect(after!.graph.nodes.map((node) => node.nodeId)).toEqual(['node-live']);

  // Middle nodes (issue 13 item 1): a → b → c → d with b and c tombstoned reads [a, d] before and
  // after vacuum; vacuum removes b and c and re-links d to a, so no turn loads a conversation
  // without its beginning.
  const chain = [sampleNode('a', null), sampleNode('b', 'a'), sampleNode('c', 'b'), sampleNode('d', 'c')];
  await commitForTest(store, stateCommit('chain', minimalState({ graph: { kind: 'replace', nodes: chain, leafNodeId: 'd' } })), 'chain');
  await store.maintenance.tombstoneNodes('chain', ['b', 'c']);
  const pathIds = async (leafNodeId?: string) =>
    (await store.sessions.load('chain', { kind: 'active_path', ...(leafNodeId ? { leafNodeId } : {}) }))!.graph.nodes.map((node) => node.nodeId);
  expect(await pathIds()).toEqual(['a', 'd']);
  expect((await store.maintenance.vacuum()).removedNodeCount).toBe(2);
  expect(await pathIds()).toEqual(['a', 'd']);
  expect(await pathIds('d')).toEqual(['a', 'd']);
  expect(await store.sessions.loadNode('chain', 'd')).toEqual({ ...chain[3], parentNodeId: 'a' });
  expect(await store.sessions.loadNode('chain', 'b')).toBeNull();
  const full = await store.sessions.load('chain', { kind: 'full_graph' });
  expect(full!.graph.nodes.map((node) => [node.nodeId, node.parentNodeId])).toEqual([['a', null], ['d', 'a']]);

  // A tombstoned root: its child becomes a root; the path keeps every visible node.
  await store.maintenance.tombstoneNodes('chain', ['a']);
  expect((await store.maintenance.vacuum()).removedNodeCount).toBe(1);
  expect(await pathIds()).toEqual(['d']);
  expect(await store.sessions.loadNode('chain', 'd')).toEqual({ ...chain[3], parentNodeId: null });
});
