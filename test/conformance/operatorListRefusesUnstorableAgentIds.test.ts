import { InvalidInputError } from '../../src/errors.js';
import { conformance } from './harness.js';
import { expectTypedError } from './support.js';

// listSessions applies the agent-id rule of every other call: a NUL or an empty id is
// InvalidInputError in both stores, never a Postgres encoding error (found by the HTTP fuzzer).
conformance('operatorListRefusesUnstorableAgentIds', async (store) => {
  for (const agentId of ['a\u0000b', '', 'x'.repeat(257), '\uD800'] as const) {
    await expectTypedError(store.operator.listSessions({ agentId }), InvalidInputError, 'INVALID_INPUT');
  }
});
