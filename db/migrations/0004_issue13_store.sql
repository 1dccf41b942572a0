ALTER TABLE "source_keys" ADD COLUMN "request_hash" text;--> statement-breakpoint
ALTER TABLE "task_sessions" ADD COLUMN "removed_at_ms" bigint;--> statement-breakpoint
ALTER TABLE "task_sessions" ADD CONSTRAINT "task_sessions_removed_has_ended" CHECK ("task_sessions"."removed_at_ms" is null or "task_sessions"."status" <> 'active');