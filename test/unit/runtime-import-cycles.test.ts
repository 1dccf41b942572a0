/**
 * src/runtime has no import cycle (issue 12 item 4): every relative `from './x.js'` import,
 * type-only ones included, read with a regex and walked depth-first.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const RUNTIME = resolve(dirname(fileURLToPath(import.meta.url)), '../../src/runtime');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Each cycle found, as the files on it from the first back to itself. */
function importCycles(root: string): string[][] {
  const files = new Set(sourceFiles(root));
  const imports = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const targets = [...text.matchAll(/from\s+'(\.{1,2}\/[^']+)\.js'/g)].map((m) => resolve(dirname(file), `${m[1]}.ts`));
    imports.set(file, targets.filter((t) => files.has(t)));
  }
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const target of imports.get(file)!) {
      if (state.get(target) === 'open') cycles.push([...stack.slice(stack.indexOf(target)), target].map((f) => relative(root, f)));
      else if (!state.has(target)) visit(target);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of files) if (!state.has(file)) visit(file);
  return cycles;
}

describe('src/runtime import graph', () => {
  it('reads the imports it checks (the regex still matches this codebase)', () => {
    expect(sourceFiles(RUNTIME).length).toBeGreaterThan(20);
    expect(readFileSync(join(RUNTIME, 'drain.ts'), 'utf8')).toMatch(/from '\.\/turn-run\.js'/);
  });

  it('has no import cycle', () => {
    expect(importCycles(RUNTIME)).toEqual([]);
  });
});
