#!/usr/bin/env node
// `turnlane …`. Installed from the package: the compiled CLI in dist/ (built by `npm pack`'s
// prepack), plain Node, no TypeScript. In a checkout of the repository, where src/ sits beside
// this file and tsx is a devDependency: the TypeScript source through tsx's ESM hooks in this
// process, so editing the source never runs a stale dist/.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
let main;
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import(source.href));
} else {
  ({ main } = await import('../dist/src/cli/main.js'));
}
await main(process.argv);
// A failed command exits now: a server or worker that failed to start may still hold
// connections and timers that would keep the process alive (a hung process is never restarted).
if (process.exitCode) process.exit();
