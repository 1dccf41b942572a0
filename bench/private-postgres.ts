/**
 * P9's own PostgreSQL server: the shared one has no `pg_stat_statements` in
 * `shared_preload_libraries`, and loading it there would mean restarting a server other people
 * use. So P9 starts a throwaway cluster of the same binaries (the shared server's major version)
 * on a free port, with pg_stat_statements preloaded and otherwise the defaults (the shared
 * Debian cluster changes none that matter here: shared_buffers 128MB, fsync and
 * synchronous_commit on), in a temporary data directory on the same disk, and removes it after.
 *
 * initdb refuses to run as root: as root, the cluster belongs to the `postgres` user (runuser).
 * Returns null, saying why, when there is no initdb or no way to run it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PrivatePostgres {
  /** postgres://<user>@127.0.0.1:<port>/<database> */
  url(database: string, user?: string): string;
  stop(): void;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The server binaries of major version `major` (Debian layout), or those on PATH. */
function binDir(major: string): string | null {
  const debian = `/usr/lib/postgresql/${major}/bin`;
  if (existsSync(join(debian, 'initdb'))) return debian;
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  return which.status === 0 ? join(which.stdout.trim(), '..') : null;
}

/** `major`: the shared server's major version, so both run the same binaries. */
export async function privatePostgresStart(major: string): Promise<PrivatePostgres | { unavailable: string }> {
  const bin = binDir(major);
  if (!bin) return { unavailable: `no initdb for PostgreSQL ${major}` };
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'turnlane-bench-pg-'));
  const data = join(dir, 'data');
  const port = await freePort();
  const run = (file: string, args: string[]) =>
    asRoot ? execFileSync('runuser', ['-u', 'postgres', '--', join(bin, file), ...args], { stdio: 'pipe' }) : execFileSync(join(bin, file), args, { stdio: 'pipe' });
  try {
    if (asRoot) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })));
    run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
    const options = [
      `-p ${port}`,
      '-c listen_addresses=127.0.0.1',
      `-c unix_socket_directories=${dir}`,
      '-c shared_preload_libraries=pg_stat_statements',
      '-c pg_stat_statements.max=10000',
      '-c pg_stat_statements.track=all',
      // graphile-worker's P9 pools and turnlane's 4 workers fit in the default 100 with room.
      '-c max_connections=200',
    ].join(' ');
    run('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '60', '-o', options, 'start']);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    return { unavailable: `could not start a private PostgreSQL ${major}: ${stderr || (err instanceof Error ? err.message : String(err))}` };
  }
  let stopped = false;
  return {
    url: (database, user = 'postgres') => `postgres://${user}@127.0.0.1:${port}/${database}`,
    stop() {
      if (stopped) return;
      stopped = true;
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
