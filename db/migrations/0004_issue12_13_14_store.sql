CREATE TABLE "api_keys" (
	"key_id" text PRIMARY KEY NOT NULL,
	"key_sha256" text NOT NULL,
	"tenant_id" text NOT NULL,
	"role" text NOT NULL,
	"agent_ids" jsonb,
	"label" text NOT NULL,
	"created_at_ms" bigint NOT NULL,
	"revoked_at_ms" bigint,
	CONSTRAINT "api_keys_role" CHECK ("api_keys"."role" in ('producer', 'read_only', 'operator', 'admin'))
);
--> statement-breakpoint
CREATE TABLE "session_tenants" (
	"session_id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"owned_at_ms" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "session_leases" DROP CONSTRAINT "session_leases_fencing_positive";--> statement-breakpoint
ALTER TABLE "queued_batches" ADD COLUMN "alone_claim_id" text;--> statement-breakpoint
ALTER TABLE "session_leases" ADD COLUMN "enqueue_mark" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "source_keys" ADD COLUMN "request_hash" text;--> statement-breakpoint
ALTER TABLE "task_sessions" ADD COLUMN "removed_at_ms" bigint;--> statement-breakpoint
CREATE UNIQUE INDEX "api_keys_sha256_key" ON "api_keys" USING btree ("key_sha256");--> statement-breakpoint
CREATE INDEX "session_tenants_tenant_idx" ON "session_tenants" USING btree ("tenant_id","session_id");--> statement-breakpoint
ALTER TABLE "session_leases" ADD CONSTRAINT "session_leases_fencing_positive" CHECK ("session_leases"."fencing_token" >= 0);--> statement-breakpoint
ALTER TABLE "task_sessions" ADD CONSTRAINT "task_sessions_removed_has_ended" CHECK ("task_sessions"."removed_at_ms" is null or "task_sessions"."status" <> 'active');