CREATE SEQUENCE "public"."queued_batch_enqueue_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1;--> statement-breakpoint
CREATE TABLE "agent_frames" (
	"session_id" text NOT NULL,
	"revision" bigint NOT NULL,
	"position" integer NOT NULL,
	"frame" jsonb NOT NULL,
	"execution_state_snapshot" "bytea",
	CONSTRAINT "agent_frames_session_id_revision_position_pk" PRIMARY KEY("session_id","revision","position")
);
--> statement-breakpoint
CREATE TABLE "attachment_content" (
	"content_id" text PRIMARY KEY NOT NULL,
	"media_type" text NOT NULL,
	"byte_length" integer NOT NULL,
	"width" integer,
	"height" integer,
	"label" text,
	"bytes" "bytea" NOT NULL,
	CONSTRAINT "attachment_content_length" CHECK ("attachment_content"."byte_length" = octet_length("attachment_content"."bytes"))
);
--> statement-breakpoint
CREATE TABLE "attachment_manifest" (
	"session_id" text NOT NULL,
	"attachment_id" text NOT NULL,
	"canonical_uri" text NOT NULL,
	"intent_at_ms" bigint NOT NULL,
	"committed_at_ms" bigint,
	CONSTRAINT "attachment_manifest_session_id_attachment_id_pk" PRIMARY KEY("session_id","attachment_id")
);
--> statement-breakpoint
CREATE TABLE "checkpoints" (
	"session_id" text NOT NULL,
	"revision" bigint NOT NULL,
	"checkpoint" jsonb NOT NULL,
	"execution_state" "bytea",
	CONSTRAINT "checkpoints_session_id_revision_pk" PRIMARY KEY("session_id","revision")
);
--> statement-breakpoint
CREATE TABLE "dead_letters" (
	"batch_id" text PRIMARY KEY NOT NULL,
	"session_id" text NOT NULL,
	"reason" text NOT NULL,
	"attempts" integer NOT NULL,
	"dead_lettered_at_ms" bigint NOT NULL,
	"enqueue_seq" bigint NOT NULL,
	"batch" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "queued_batches" (
	"batch_id" text PRIMARY KEY NOT NULL,
	"session_id" text NOT NULL,
	"enqueue_seq" bigint DEFAULT nextval('queued_batch_enqueue_seq') NOT NULL,
	"delivery_policy" text NOT NULL,
	"slot_policy" text NOT NULL,
	"merge_key" text,
	"is_command" boolean NOT NULL,
	"source_key" text,
	"available_at_ms" bigint NOT NULL,
	"enqueued_at_ms" bigint NOT NULL,
	"payloads" jsonb NOT NULL,
	"claim_id" text,
	"claim_token" text,
	"claim_owner" jsonb,
	"claimed_at_ms" bigint,
	"claim_expires_at_ms" bigint,
	"claim_count" integer DEFAULT 0 NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	CONSTRAINT "queued_batches_delivery_policy" CHECK ("queued_batches"."delivery_policy" in ('earliest_safe_boundary', 'after_current_turn_commit')),
	CONSTRAINT "queued_batches_slot_policy" CHECK ("queued_batches"."slot_policy" in ('exclusive', 'join')),
	CONSTRAINT "queued_batches_claim_all_or_none" CHECK (("queued_batches"."claim_token" is null and "queued_batches"."claim_id" is null and "queued_batches"."claim_expires_at_ms" is null and "queued_batches"."claimed_at_ms" is null and "queued_batches"."claim_owner" is null)
        or ("queued_batches"."claim_token" is not null and "queued_batches"."claim_id" is not null and "queued_batches"."claim_expires_at_ms" is not null and "queued_batches"."claimed_at_ms" is not null and "queued_batches"."claim_owner" is not null)),
	CONSTRAINT "queued_batches_counters" CHECK ("queued_batches"."claim_count" >= 0 and "queued_batches"."attempts" >= 0 and "queued_batches"."available_at_ms" >= 0)
);
--> statement-breakpoint
CREATE TABLE "session_leases" (
	"session_id" text PRIMARY KEY NOT NULL,
	"owner_id" text NOT NULL,
	"incarnation_id" text NOT NULL,
	"liveness" jsonb,
	"lease_token" text,
	"fencing_token" bigint NOT NULL,
	"claimed_at_ms" bigint NOT NULL,
	"expires_at_ms" bigint NOT NULL,
	CONSTRAINT "session_leases_fencing_positive" CHECK ("session_leases"."fencing_token" >= 1)
);
--> statement-breakpoint
CREATE TABLE "session_meta" (
	"session_id" text PRIMARY KEY NOT NULL,
	"session_name" text NOT NULL,
	"created_at" bigint NOT NULL,
	"model" text NOT NULL,
	"cwd" text,
	"relation" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "session_nodes" (
	"session_id" text NOT NULL,
	"node_id" text NOT NULL,
	"parent_node_id" text,
	"revision" bigint NOT NULL,
	"position" integer NOT NULL,
	"node" jsonb NOT NULL,
	"tombstoned" boolean DEFAULT false NOT NULL,
	CONSTRAINT "session_nodes_session_id_node_id_pk" PRIMARY KEY("session_id","node_id")
);
--> statement-breakpoint
CREATE TABLE "sessions" (
	"session_id" text PRIMARY KEY NOT NULL,
	"head_revision" bigint NOT NULL,
	"leaf_node_id" text,
	"current_agent_frame_id" text,
	"checkpoint_ref" text NOT NULL,
	CONSTRAINT "sessions_head_positive" CHECK ("sessions"."head_revision" >= 1)
);
--> statement-breakpoint
CREATE TABLE "source_keys" (
	"session_id" text NOT NULL,
	"source_key" text NOT NULL,
	"batch_id" text NOT NULL,
	"status" text NOT NULL,
	"finished_at_ms" bigint,
	"batch" jsonb,
	CONSTRAINT "source_keys_session_id_source_key_pk" PRIMARY KEY("session_id","source_key"),
	CONSTRAINT "source_keys_status" CHECK ("source_keys"."status" in ('queued', 'completed', 'cancelled', 'dead_lettered')),
	CONSTRAINT "source_keys_terminal_has_copy" CHECK (("source_keys"."status" = 'queued') = ("source_keys"."finished_at_ms" is null) and ("source_keys"."status" = 'queued') = ("source_keys"."batch" is null))
);
--> statement-breakpoint
CREATE TABLE "turn_stamps" (
	"session_id" text NOT NULL,
	"turn_id" text NOT NULL,
	"hash" text NOT NULL,
	"head_revision" bigint NOT NULL,
	"checkpoint_ref" text NOT NULL,
	"enqueued_batches" jsonb NOT NULL,
	"committed_at_ms" bigint NOT NULL,
	CONSTRAINT "turn_stamps_session_id_turn_id_pk" PRIMARY KEY("session_id","turn_id")
);
--> statement-breakpoint
CREATE TABLE "usage_ledger" (
	"session_id" text NOT NULL,
	"revision" bigint NOT NULL,
	"position" integer NOT NULL,
	"source" text NOT NULL,
	"model" text NOT NULL,
	"input_tokens" bigint NOT NULL,
	"output_tokens" bigint NOT NULL,
	"cached_input_tokens" bigint NOT NULL,
	"reasoning_tokens" bigint NOT NULL,
	CONSTRAINT "usage_ledger_session_id_revision_position_pk" PRIMARY KEY("session_id","revision","position"),
	CONSTRAINT "usage_ledger_non_negative" CHECK ("usage_ledger"."input_tokens" >= 0 and "usage_ledger"."output_tokens" >= 0 and "usage_ledger"."cached_input_tokens" >= 0 and "usage_ledger"."reasoning_tokens" >= 0)
);
--> statement-breakpoint
CREATE INDEX "attachment_manifest_attachment_idx" ON "attachment_manifest" USING btree ("attachment_id");--> statement-breakpoint
CREATE INDEX "attachment_manifest_uncommitted_idx" ON "attachment_manifest" USING btree ("intent_at_ms") WHERE "attachment_manifest"."committed_at_ms" is null;--> statement-breakpoint
CREATE INDEX "dead_letters_session_idx" ON "dead_letters" USING btree ("session_id","dead_lettered_at_ms","enqueue_seq");--> statement-breakpoint
CREATE INDEX "dead_letters_order_idx" ON "dead_letters" USING btree ("dead_lettered_at_ms","enqueue_seq");--> statement-breakpoint
CREATE INDEX "queued_batches_session_seq_idx" ON "queued_batches" USING btree ("session_id","enqueue_seq");--> statement-breakpoint
CREATE UNIQUE INDEX "queued_batches_enqueue_seq_key" ON "queued_batches" USING btree ("enqueue_seq");--> statement-breakpoint
CREATE INDEX "session_nodes_order_idx" ON "session_nodes" USING btree ("session_id","revision","position");--> statement-breakpoint
CREATE INDEX "source_keys_finished_idx" ON "source_keys" USING btree ("finished_at_ms");