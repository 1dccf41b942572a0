/** `turnlane migrate | reconcile | vacuum | gc`. */
import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { silentLogger } from '../../logger.js';
import { connectQueue, connectStore, withConnection } from '../connect.js';
import { print } from '../output.js';

export function registerMaintenanceCommands(program: Command): void {
  program
    .command('migrate')
    .description('create the database if missing and apply the migrations (idempotent)')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const config = loadConfig();
      const { migrate } = await import('../../../db/migrate.js');
      await migrate(config.DATABASE_URL);
      const database = new URL(config.DATABASE_URL).pathname.slice(1);
      print(options, { migrated: true, database }, (r) => `database ${r.database} is migrated`);
    });

  program
    .command('reconcile')
    .description('one reconciler pass: give every queued batch a BullMQ job, dead-letter batches whose job failed for good')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const { reconcileOnce } = await import('../../runtime/reconciler.js');
      const report = await withConnection(connectQueue, ({ store, queue, producer }) => reconcileOnce({ store, queue, producer, log: silentLogger() }));
      print(options, report, (r) => `scanned ${r.scanned} batches: published ${r.published}, republished ${r.republished}, dead-lettered ${r.deadLettered}`);
    });

  program
    .command('vacuum')
    .description('remove tombstoned nodes and expired source-key memories')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const report = await withConnection(connectStore, ({ store }) => store.maintenance.vacuum());
      print(options, report, (r) => `removed ${r.removedNodeCount} nodes and ${r.removedSourceKeyCount} source keys`);
    });

  program
    .command('gc')
    .description('remove checkpoint data no session head references')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const report = await withConnection(connectStore, ({ store }) => store.maintenance.gcUnreachable());
      print(options, report, (r) => `${r.rootCount} heads, ${r.retainedCount} checkpoints kept, ${r.deletedCount} deleted`);
    });
}
