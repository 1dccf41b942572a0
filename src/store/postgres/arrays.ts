/**
 * Array parameters. Every list a statement takes travels as one JSON text parameter and is
 * unpacked in SQL, never as a postgres.js array parameter.
 *
 * Why: postgres.js 3.4 learns the array type OIDs (text -> text[]) with a catalogue query on a
 * pool's first connection, and fills its map only after that connection has already sent its
 * first statement. An array parameter built before then is typed `text` and serialized as
 * "a,b", which `::text[]` rejects: `malformed array literal` (porsager/postgres#789, open; found
 * by two exact claims from two fresh store instances at once). A JSON parameter has no such
 * dependency: it is a plain text value on every connection, first use or not.
 */
import type { Db, Fragment } from './context.js';

/** SQL: a text[] holding `values` in order (empty array for an empty list). */
export function textArray(db: Db, values: readonly string[]): Fragment {
  return db`array(select jsonb_array_elements_text(${JSON.stringify(values)}::text::jsonb))`;
}
