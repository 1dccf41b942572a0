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
CREATE UNIQUE INDEX "api_keys_sha256_key" ON "api_keys" USING btree ("key_sha256");--> statement-breakpoint
CREATE INDEX "session_tenants_tenant_idx" ON "session_tenants" USING btree ("tenant_id","session_id");