/**
 * Pagination of the list routes and dashboard tables: every list answers one page (a cursor and
 * a limit with a maximum) and leaves payloads out unless asked. Before, `/v1/sessions/:id/queue`
 * and `/v1/dead-letters` loaded every row with its payloads: 300 × 200 KB made a 57 MB answer in
 * 9.4 s and stalled `/healthz` 2.95 s (issue 14).
 */
import type { DeadLetter, QueuedWorkBatch } from '../store/contract.js';
import { InvalidInputError } from '../errors.js';

/** Rows per page when the caller gives no limit. */
export const PAGE_DEFAULT = 50;
/** Most rows per page: 100 × 256 KiB bounds a page with payloads at 25 MiB. */
export const PAGE_MAX = 100;

/** A queued batch without its payloads: their count and JSON size instead. */
export type BatchSummary = Omit<QueuedWorkBatch, 'items'> & { itemCount: number; payloadBytes: number };

export function batchSummary(batch: QueuedWorkBatch): BatchSummary {
  const { items, ...rest } = batch;
  return { ...rest, itemCount: items.length, payloadBytes: Buffer.byteLength(JSON.stringify(items.map((i) => i.payload)), 'utf8') };
}

export function deadLetterSummary(letter: DeadLetter): Omit<DeadLetter, 'batch'> & { batch: BatchSummary } {
  return { ...letter, batch: batchSummary(letter.batch) };
}

/** The cursor after a dead letter: `<deadLetteredAtMs>-<enqueueSeq>`. */
export function deadLetterCursor(letter: DeadLetter): string {
  return `${letter.deadLetteredAtMs}-${letter.batch.enqueueSeq}`;
}

const CURSOR = /^(\d{1,16})-(\d{1,16})$/;

export function parseDeadLetterCursor(cursor: string | undefined, field: string): { deadLetteredAtMs: number; enqueueSeq: number } | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  const match = CURSOR.exec(cursor);
  const deadLetteredAtMs = Number(match?.[1]);
  const enqueueSeq = Number(match?.[2]);
  if (!match || !Number.isSafeInteger(deadLetteredAtMs) || !Number.isSafeInteger(enqueueSeq)) {
    throw InvalidInputError.field(field, 'a cursor <deadLetteredAtMs>-<enqueueSeq> from a previous page', `a string of ${cursor.length} characters`);
  }
  return { deadLetteredAtMs, enqueueSeq };
}
