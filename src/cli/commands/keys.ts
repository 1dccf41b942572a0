/**
 * `turnlane keys create|list|revoke`: API keys in the store (issue 14). A key acts for one tenant
 * with one role (`producer`, or an operator role `read_only`, `operator`, `admin`), optionally for
 * some agent ids only. The key is printed once, at creation; the store keeps its SHA-256.
 */
import type { Command } from 'commander';
import { ApiKeyNotFoundError } from '../../errors.js';
import { newApiKey, newApiKeyId } from '../../ids.js';
import { secretDigest } from '../../server/auth.js';
import type { ApiKeyRecord, ApiKeyRole } from '../../store/contract.js';
import { connectStore, withConnection } from '../connect.js';
import { isoOrDash, print, renderTable } from '../output.js';

const collect = (value: string, previous: string[]) => [...previous, value];

function keyTable(list: ApiKeyRecord[]): string {
  if (list.length === 0) return 'no API keys';
  return renderTable(
    ['key id', 'tenant', 'role', 'agents', 'label', 'created', 'revoked'],
    list.map((k) => [k.keyId, k.tenantId, k.role, k.agentIds ? k.agentIds.join(',') : '*', k.label, isoOrDash(k.createdAtMs), isoOrDash(k.revokedAtMs)]),
  );
}

export function registerKeyCommands(program: Command): void {
  const keys = program.command('keys').description('API keys: create (printed once), list, revoke');

  keys
    .command('create')
    .description('create an API key for a tenant and print it (only now: the store keeps its SHA-256)')
    .requiredOption('--tenant <tenantId>', 'the tenant it acts for (1–64 of [A-Za-z0-9._-]; "default" is the environment key\'s tenant)')
    .option('--role <role>', 'producer | read_only | operator | admin', 'producer')
    .option('--agent <agentId>', 'only task sessions of this agent (repeatable); default: any agent of the tenant', collect, [])
    .option('--label <text>', 'a note for people', '')
    .option('--id <keyId>', 'the public key id; default: a random one')
    .option('--json', 'print JSON')
    .action(async (options: { tenant: string; role: string; agent: string[]; label: string; id?: string; json?: boolean }) => {
      const key = newApiKey();
      const record = await withConnection(connectStore, ({ store }) =>
        store.apiKeys.create({
          keyId: options.id ?? newApiKeyId(),
          keySha256: secretDigest(key),
          tenantId: options.tenant,
          role: options.role as ApiKeyRole,
          agentIds: options.agent.length > 0 ? options.agent : null,
          label: options.label,
        }),
      );
      print(options, { ...record, key }, (r) => `${keyTable([r])}\n\nkey (shown once, send it as Authorization: Bearer <key>):\n${r.key}`);
    });

  keys
    .command('list')
    .description('list API keys (never the keys themselves)')
    .option('--tenant <tenantId>', 'only this tenant\'s')
    .option('--all', 'include revoked keys')
    .option('--json', 'print JSON')
    .action(async (options: { tenant?: string; all?: boolean; json?: boolean }) => {
      const list = await withConnection(connectStore, ({ store }) =>
        store.apiKeys.list({ ...(options.tenant ? { tenantId: options.tenant } : {}), includeRevoked: options.all === true }),
      );
      print(options, list, keyTable);
    });

  keys
    .command('revoke <keyId>')
    .description('revoke an API key; running servers refuse it within 5 s (their lookup cache)')
    .option('--json', 'print JSON')
    .action(async (keyId: string, options: { json?: boolean }) => {
      const record = await withConnection(connectStore, ({ store }) => store.apiKeys.revoke(keyId));
      if (!record) throw new ApiKeyNotFoundError(`no API key ${keyId}`, { keyId });
      print(options, record, (r) => keyTable([r]));
    });
}
