/** docker-compose.yml stays valid: `docker-compose config -q` (Debian's docker-compose), skipped only when the binary is absent. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const file = fileURLToPath(new URL('../../docker-compose.yml', import.meta.url));
const binary = ['docker-compose'].find((b) => spawnSync(b, ['version'], { stdio: 'ignore' }).status === 0);

describe('docker-compose.yml', () => {
  it.skipIf(!binary)('validates with docker-compose config', () => {
    const result = spawnSync(binary!, ['-f', file, 'config', '-q'], { encoding: 'utf8', env: { ...process.env, API_KEY_SHA256: '', OPERATOR_CREDENTIALS: '' } });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('runs postgres, redis, migrate, the API server and three workers', () => {
    const text = readFileSync(file, 'utf8');
    for (const service of ['postgres:', 'redis:', 'migrate:', 'server:', 'worker:']) expect(text).toContain(`\n  ${service}`);
    expect(text).toContain('replicas: 3');
    expect(text).toContain('noeviction');
  });
});
