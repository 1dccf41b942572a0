/** `turnlane enqueue | queue | cancel | dead-letters | requeue`: producing and steering queued work. */
import { InvalidArgumentError, type Command } from 'commander';
import { InvalidInputError } from '../../errors.js';
import { DEFAULT_TENANT_ID } from '../../store/tenants.js';
import { queueView } from '../../server/routes/sessions.js';
import type { DeliveryPolicy, QueuedWorkBatch, SlotPolicy } from '../../store/contract.js';
import { batchText } from '../../server/dashboard/views.js';
import { connectQueue, connectStore, withConnection } from '../connect.js';
import { isoOrDash, print, renderTable } from '../output.js';

function choice<T extends string>(allowed: readonly T[]) {
  return (value: string): T => {
    if (!(allowed as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${allowed.join(', ')}`);
    return value as T;
  };
}

function clip(text: string, max = 48): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function batchLine(b: QueuedWorkBatch): string {
  return `${b.batchId} (session ${b.sessionId}, seq ${b.enqueueSeq}, ${b.status})`;
}

export function registerQueueCommands(program: Command): void {
  program
    .command('enqueue <session> <text>')
    .description('enqueue turn input for a session')
    .option('--delivery <policy>', 'earliest_safe_boundary or after_current_turn_commit', choice<DeliveryPolicy>(['earliest_safe_boundary', 'after_current_turn_commit']), 'after_current_turn_commit')
    .option('--slot <policy>', 'exclusive or join', choice<SlotPolicy>(['exclusive', 'join']), 'exclusive')
    .option('--merge-key <key>', 'join batches with the same key into one turn')
    .option('--key <sourceKey>', 'idempotency (source) key: the same request again returns the first batch; another request is refused')
    .option('--tenant <tenantId>', "as this tenant (default: the session's owner, or the default tenant for a new session)")
    .option('--json', 'print JSON')
    .action(async (session: string, text: string, options: { delivery: DeliveryPolicy; slot: SlotPolicy; mergeKey?: string; key?: string; tenant?: string; json?: boolean }) => {
      const { batch, replayed, deliveryPending } = await withConnection(connectQueue, async ({ producer, store }) => {
        const failuresBefore = producer.stats.publishFailures;
        const { batch, replayed } = await producer.enqueueTurnInputWithOutcome({
          tenantId: options.tenant ?? (await store.sessions.tenantOf(session)) ?? DEFAULT_TENANT_ID,
          sessionId: session,
          text,
          deliveryPolicy: options.delivery,
          slotPolicy: options.slot,
          ...(options.mergeKey ? { mergeKey: { kind: 'group', key: options.mergeKey } } : {}),
          ...(options.key ? { sourceKey: options.key } : {}),
        });
        return { batch, replayed, deliveryPending: producer.stats.publishFailures > failuresBefore };
      });
      // With Redis away the batch is still accepted (Postgres holds it): say so, exit 0, and let
      // the reconciler publish it. A retry without --key would enqueue it twice.
      const verb = replayed ? 'replayed (already accepted under this key)' : 'enqueued';
      print(options, deliveryPending ? { ...batch, replayed, deliveryPending } : { ...batch, replayed }, () =>
        deliveryPending
          ? `${verb} ${batchLine(batch)}; delivery pending: the reconciler will publish it (Redis did not take the job)`
          : `${verb} ${batchLine(batch)}`,
      );
    });

  program
    .command('queue <session>')
    .description("a session's queued batches, held or not, in enqueue order")
    .option('--json', 'print JSON')
    .action(async (session: string, options: { json?: boolean }) => {
      const batches = await withConnection(connectStore, ({ store }) => queueView(store, session));
      print(options, batches, (list) =>
        list.length === 0
          ? `the queue of ${session} is empty`
          : renderTable(
              ['batch', 'seq', 'delivery', 'slot', 'merge key', 'state', 'input'],
              list.map((b) => [
                b.batchId,
                String(b.enqueueSeq),
                b.deliveryPolicy,
                b.slotPolicy,
                b.mergeKey.kind === 'group' ? b.mergeKey.key : '-',
                b.held ? 'held' : 'pending',
                clip(batchText(b)),
              ]),
            ),
      );
    });

  program
    .command('cancel <session> <batch>')
    .description('cancel a batch that no running turn holds, and remove its job')
    .option('--json', 'print JSON')
    .action(async (session: string, batchId: string, options: { json?: boolean }) => {
      const result = await withConnection(connectQueue, async ({ producer, store }) => {
        const cancelled = await producer.cancel(session, batchId);
        if (cancelled) return cancelled;
        const batch = await store.queue.get(batchId);
        throw new InvalidInputError(
          batch && batch.sessionId === session ? `batch ${batchId} is held by a running turn` : `no queued batch ${batchId} in session ${session}`,
          { sessionId: session, batchId },
        );
      });
      print(options, result, (b) => `cancelled ${batchLine(b)}`);
    });

  program
    .command('dead-letters')
    .description('batches taken out of the queue after repeated failed turns, with their reasons')
    .option('--session <id>', 'only this session')
    .option('--json', 'print JSON')
    .action(async (options: { session?: string; json?: boolean }) => {
      const letters = await withConnection(connectStore, ({ store }) => store.queue.listDeadLetters(options.session));
      print(options, letters, (list) =>
        list.length === 0
          ? 'no dead letters'
          : renderTable(
              ['batch', 'session', 'attempts', 'when', 'reason'],
              list.map((l) => [l.batchId, l.sessionId, String(l.attempts), isoOrDash(l.deadLetteredAtMs), clip(l.reason, 60)]),
            ),
      );
    });

  program
    .command('requeue <batch>')
    .description('put a dead letter back at the tail of its session and publish its job')
    .option('--json', 'print JSON')
    .action(async (batchId: string, options: { json?: boolean }) => {
      const batch = await withConnection(connectQueue, async ({ store, queue, producer }) => {
        const requeued = await store.queue.requeueDeadLetter(batchId);
        if (!requeued) throw new InvalidInputError(`no dead letter ${batchId}`, { batchId });
        await queue.remove(batchId).catch(() => 0);
        await producer.publish([requeued]);
        return requeued;
      });
      print(options, batch, (b) => `requeued ${batchLine(b)}`);
    });
}
