import { createHash } from 'node:crypto';
import type { RuntimeCommit } from './contract.js';

/**
 * Canonical JSON: object keys sorted, no whitespace, `undefined` omitted, byte arrays as base64.
 * Used for turn commit identity, so it must never depend on key insertion order.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return JSON.stringify(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64'));
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: cannot encode ${value}`);
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
    }
    default:
      throw new TypeError(`canonicalJson: cannot encode a ${typeof value}`);
  }
}

/** SHA-256 (lowercase hex) of a request's canonical JSON: the `requestHash` of a draft built from it. */
export function requestHashOf(request: unknown): string {
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}

/**
 * SHA-256 (lowercase hex) of the commit's canonical JSON without `expectedHeadRevision`,
 * `leaseFence`, `releaseLease` and `turnStamp`: a retry from a newer CAS revision or under a new
 * lease keeps its identity, and any change of content is a different one.
 */
export function turnCommitHash(commit: RuntimeCommit): string {
  const { expectedHeadRevision: _cas, leaseFence: _fence, releaseLease: _release, turnStamp: _stamp, ...content } = commit;
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}
