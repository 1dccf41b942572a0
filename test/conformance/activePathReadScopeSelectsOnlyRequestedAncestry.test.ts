import { expect } from 'vitest';
import { conformance } from './harness.js';
import { commitForTest, minimalState, sampleNode, stateCommit } from './support.js';

// Twin of active_path_read_scope_selects_only_requested_ancestry.
conformance('activePathReadScopeSelectsOnlyRequestedAncestry', async (store) => {
  const nodes = [
    sampleNode('root-node', null),
    sampleNode('left-node', 'root-node'),
    sampleNode('left-leaf', 'left-node'),
    sampleNode('right-leaf', 'root-node'),
  ];
  await commitForTest(
    store,
    stateCommit('branchy', minimalState({ graph: { kind: 'replace', nodes, leafNodeId: 'left-leaf' } })),
    'active-path',
  );

  const full = await store.sessions.load('branchy', { kind: 'full_graph' });
  expect(full).not.toBeNull();
  // full_graph retains every non-tombstoned branch, in insertion order, exactly as committed.
  expect(full!.graph.nodes.map((node) => node.nodeId)).toEqual(['root-node', 'left-node', 'left-leaf', 'right-leaf']);
  expect(full!.graph.nodes).toEqual(nodes);
  expect(full!.graph.leafNodeId).toBe('left-leaf');

  // active_path without a leaf uses the persisted leaf and hides sibling branches.
  const persistedLeafPath = await store.sessions.load('branchy', { kind: 'active_path' });
  expect(persistedLeafPath).not.toBeNull();
  expect(persistedLeafPath!.graph.nodes.map((node) => node.nodeId)).toEqual(['root-node', 'left-node', 'left-leaf']);
  expect(persistedLeafPath!.graph.leafNodeId).toBe('left-leaf');

  // An explicit leaf selects that ancestry, not the persisted leaf.
  const explicitRightPath = await store.sessions.load('branchy', { kind: 'active_path', leafNodeId: 'right-leaf' });
  expect(explicitRightPath).not.toBeNull();
  expect(explicitRightPath!.graph.nodes.map((node) => node.nodeId)).toEqual(['root-node', 'right-leaf']);
  expect(explicitRightPath!.graph.leafNodeId).toBe('right-leaf');

  // Reads are per session.
  expect(await store.sessions.load('other', { kind: 'active_path' })).toBeNull();
  expect(await store.sessions.loadNode('other', 'root-node')).toBeNull();
  expect(await store.sessions.loadNode('branchy', 'right-leaf')).toEqual(nodes[3]);
});
