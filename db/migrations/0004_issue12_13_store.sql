ALTER TABLE "session_leases" DROP CONSTRAINT "session_leases_fencing_positive";--> statement-breakpoint
ALTER TABLE "queued_batches" ADD COLUMN "alone_claim_id" text;--> statement-breakpoint
ALTER TABLE "session_leases" ADD COLUMN "enqueue_mark" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "source_keys" ADD COLUMN "request_hash" text;--> statement-breakpoint
ALTER TABLE "task_sessions" ADD COLUMN "removed_at_ms" bigint;--> statement-breakpoint
ALTER TABLE "session_leases" ADD CONSTRAINT "session_leases_fencing_positive" CHECK ("session_leases"."fencing_token" >= 0);--> statement-breakpoint
ALTER TABLE "task_sessions" ADD CONSTRAINT "task_sessions_removed_has_ended" CHECK ("task_sessions"."removed_at_ms" is null or "task_sessions"."status" <> 'active');