#!/usr/bin/env node
// `npx turnlane …` from the repository: load tsx's ESM hooks in this process, then run the
// TypeScript CLI (src/cli/main.ts) directly, so there is no build step and no second process.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
