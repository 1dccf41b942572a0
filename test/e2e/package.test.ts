/**
 * The package as a user gets it (issue 16 item 1): `npm pack` (its prepack builds dist/), the
 * tarball installed into an empty project offline (dependencies come from the npm cache that
 * `npm ci` filled, pinned by this repository's lockfile), no TypeScript or tsx there; then the
 * README's "Using it" snippet runs unchanged, and `npx turnlane --version`, `migrate`,
 * `worker --handler` (the README quickstart's handler file, unchanged) and `enqueue` work.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { dropDatabase } from '../../db/databases.js';
import { createPostgresStore } from '../../src/store/postgres/index.js';
import type { RuntimeStore } from '../../src/store/contract.js';
import { ADMIN_URL, databaseUrl } from '../helpers/postgres.js';
import { waitFor } from '../helpers/processes.js';
import { REDIS_URL } from '../helpers/runtime.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  license: string;
  dependencies: Record<string, string>;
  overrides?: Record<string, string>;
  bin: Record<string, string>;
  engines: Record<string, string>;
};
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

vi.setConfig({ testTimeout: 300_000, hookTimeout: 600_000 });

let project: string;
let dbName: string;
let env: NodeJS.ProcessEnv;
let store: RuntimeStore | undefined;
const running: ChildProcess[] = [];

function exec(file: string, args: string[], cwd: string, extra: NodeJS.ProcessEnv = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) =>
    execFile(file, args, { cwd, env: { ...env, ...extra }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${file} ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`)) : resolve({ stdout, stderr }),
    ),
  );
}

/** A long-running process in the project, its stdout kept. */
function start(file: string, args: string[]): { child: ChildProcess; output: () => string } {
  const child = spawn(file, args, { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(child);
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  return { child, output: () => output };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** The first fenced block of `language` after `heading` whose text starts with `startsWith`. */
function readmeBlock(heading: string, language: string, startsWith = ''): string {
  const section = README.slice(README.indexOf(heading));
  const fence = new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g');
  for (const match of section.matchAll(fence)) if (match[1]!.startsWith(startsWith)) return match[1]!;
  throw new Error(`README: no ${language} block after ${heading}`);
}

/**
 * The empty project's package.json and lockfile: the tarball as its one dependency, and the
 * production entries of this repository's lockfile, so `npm ci --offline` installs exactly the
 * versions the tests ran with, from the cache, without asking the registry for metadata (which
 * `npm install --offline <tarball>` needs and `npm ci` never cached).
 */
function writeProject(tarball: string): void {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; version?: string; resolved?: string }> };
  const spec = `file:${tarball}`;
  const packages: Record<string, unknown> = {
    '': { name: 'turnlane-user', version: '1.0.0', dependencies: { turnlane: spec } },
    'node_modules/turnlane': { version: pkg.version, resolved: spec, license: pkg.license, dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines },
  };
  // This repository's lockfile omits `resolved` (npm's omit-lockfile-registry-resolved); without it
  // npm asks the registry where a tarball is. With it and the integrity, the cache answers.
  const registry = 'https://registry.npmjs.org';
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (!path.startsWith('node_modules/') || entry.dev) continue;
    const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const resolved = entry.resolved ?? `${registry}/${name}/-/${name.split('/').pop()}-${entry.version}.tgz`;
    packages[path] = { ...entry, resolved };
  }
  const manifest = { name: 'turnlane-user', version: '1.0.0', private: true, type: 'module', dependencies: { turnlane: spec }, ...(pkg.overrides ? { overrides: pkg.overrides } : {}) };
  writeFileSync(join(project, 'package.json'), JSON.stringify(manifest, null, 2));
  writeFileSync(join(project, 'package-lock.json'), JSON.stringify({ name: 'turnlane-user', version: '1.0.0', lockfileVersion: 3, requires: true, packages }, null, 2));
}

async function headRevision(sessionId: string): Promise<number> {
  return (await store!.operator.getSession(sessionId))?.headRevision ?? 0;
}

beforeAll(async () => {
  project = mkdtempSync(join(tmpdir(), 'turnlane-package-'));
  dbName = `turnlane_pkg_${randomBytes(6).toString('hex')}`;
  env = {
    ...process.env,
    DATABASE_URL: databaseUrl(dbName),
    REDIS_URL,
    TURNLANE_PREFIX: `{tl-pkg-${randomBytes(4).toString('hex')}}`,
    LOG_LEVEL: 'info',
    API_KEY_SHA256: '',
    OPERATOR_CREDENTIALS: '',
    RECONCILE_INTERVAL_MS: '1000',
  };
  const packed = await exec('npm', ['pack', '--json', '--pack-destination', project], ROOT);
  const filename = (JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{ filename: string }>)[0]!.filename;
  writeProject(filename);
  await exec('npm', ['ci', '--offline', '--no-audit', '--no-fund'], project);
}, 600_000);

afterAll(async () => {
  for (const child of running) await stop(child);
  await store?.close();
  await dropDatabase(ADMIN_URL, dbName).catch(() => {});
  if (project) rmSync(project, { recursive: true, force: true });
});

describe('the packed package, installed offline into an empty project', () => {
  it('carries compiled JavaScript, declarations and migrations, and no TypeScript toolchain comes with it', async () => {
    const installed = join(project, 'node_modules', 'turnlane');
    for (const file of ['dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/client/index.js', 'dist/src/client/index.d.ts', 'dist/src/cli/main.js', 'dist/db/migrations/0000_initial.sql', 'bin/turnlane.mjs']) {
      expect(existsSync(join(installed, file)), file).toBe(true);
    }
    expect(existsSync(join(installed, 'src'))).toBe(false);
    expect(existsSync(join(project, 'node_modules', 'tsx'))).toBe(false);
    expect(existsSync(join(project, 'node_modules', 'typescript'))).toBe(false);
    const { stdout } = await exec('node', ['--input-type=module', '-e', "const c = await import('turnlane/client'); const t = await import('turnlane'); console.log(typeof c.createClient, typeof t.createWorker, typeof t.loadHandlerModule)"], project);
    expect(stdout.trim()).toBe('function function function');
  });

  it('npx turnlane --version and migrate', async () => {
    expect((await exec('npx', ['turnlane', '--version'], project)).stdout.trim()).toBe(pkg.version);
    expect((await exec('npx', ['turnlane', 'migrate'], project)).stdout).toContain(`database ${dbName} is migrated`);
    store = createPostgresStore({ databaseUrl: databaseUrl(dbName), maxConnections: 2 });
  });

  it("runs the README's library snippet unchanged", async () => {
    writeFileSync(join(project, 'snippet.mjs'), readmeBlock('## Using it', 'ts'));
    const snippet = start('node', ['snippet.mjs']);
    try {
      await waitFor(async () => (await headRevision('chat-42')) >= 1, 120_000, `the snippet's worker to commit chat-42:\n${snippet.output()}`);
    } finally {
      await stop(snippet.child);
    }
  });

  it("runs the README quickstart's handler file with npx turnlane worker --handler, fed by npx turnlane enqueue", async () => {
    const handlerFile = readmeBlock('## Your agent, from an empty folder', 'js', '// my-agent.mjs');
    writeFileSync(join(project, 'my-agent.mjs'), handlerFile);
    const worker = start('npx', ['turnlane', 'worker', '--handler', './my-agent.mjs']);
    try {
      await waitFor(() => worker.output().includes('"msg":"worker started"'), 120_000, `the worker to start:\n${worker.output()}`);
      const { stdout } = await exec('npx', ['turnlane', 'enqueue', 'pkg-quick', 'hello'], project);
      expect(stdout).toMatch(/^enqueued b_\S+ \(session pkg-quick, seq \d+, queued\)\n$/);
      await waitFor(async () => (await headRevision('pkg-quick')) === 1, 120_000, 'the quickstart handler to commit');
      const read = await store!.sessions.load('pkg-quick', { kind: 'full_graph' });
      expect(JSON.stringify(read?.graph.nodes)).toContain('you said: hello');
    } finally {
      await stop(worker.child);
    }
  });
});
