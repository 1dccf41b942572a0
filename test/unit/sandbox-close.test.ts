/**
 * Closing a sandbox whose processes are idle waits for them to exit, even when nothing else keeps
 * this process running (idle sandbox processes are unreferenced; without taking them back before
 * the kill, a script ended silently in the middle of close(), with its promise never settled).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SCRIPT = `
import { createSandbox } from ${JSON.stringify(fileURLToPath(new URL('../../src/runtime/sandbox/pool.ts', import.meta.url)))};
const sandbox = createSandbox({ module: ${JSON.stringify(new URL('../fixtures/sandbox-handlers.ts', import.meta.url).href)}, logLevel: 'silent' });
await sandbox.start(2);
await sandbox.close();
console.log('closed', sandbox.size);
`;

describe('closing a sandbox', () => {
  it('waits for its idle processes to exit when nothing else keeps the process alive', async () => {
    const script = join(mkdtempSync(join(tmpdir(), 'turnlane-sandbox-close-')), 'close.mts');
    writeFileSync(script, SCRIPT);
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--import', 'tsx', script], { cwd: fileURLToPath(new URL('../..', import.meta.url)), timeout: 30_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
    );
    expect(out.trim()).toBe('closed 0');
  }, 40_000);
});
