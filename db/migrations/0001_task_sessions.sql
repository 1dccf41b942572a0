CREATE TABLE "task_sessions" (
	"session_id" text PRIMARY KEY NOT NULL,
	"agent_id" text NOT NULL,
	"delegation_chain_snapshot" jsonb NOT NULL,
	"declared_intent" text NOT NULL,
	"authorized_tools" text[] NOT NULL,
	"call_budget" integer NOT NULL,
	"calls_made" integer DEFAULT 0 NOT NULL,
	"rate_limit_per_window" integer,
	"rate_limit_window_secs" integer DEFAULT 60 NOT NULL,
	"rate_window_start_ms" bigint NOT NULL,
	"rate_window_calls" integer DEFAULT 0 NOT NULL,
	"time_limit_ms" bigint NOT NULL,
	"data_sensitivity_ceiling" text NOT NULL,
	"status" text NOT NULL,
	"created_at_ms" bigint NOT NULL,
	"closed_at_ms" bigint,
	CONSTRAINT "task_sessions_status" CHECK ("task_sessions"."status" in ('active', 'closed', 'expired')),
	CONSTRAINT "task_sessions_ceiling" CHECK ("task_sessions"."data_sensitivity_ceiling" in ('public', 'internal', 'confidential', 'restricted')),
	CONSTRAINT "task_sessions_budget" CHECK ("task_sessions"."call_budget" >= 0 and "task_sessions"."calls_made" >= 0 and "task_sessions"."calls_made" <= "task_sessions"."call_budget"),
	CONSTRAINT "task_sessions_rate" CHECK (("task_sessions"."rate_limit_per_window" is null or "task_sessions"."rate_limit_per_window" >= 0) and "task_sessions"."rate_limit_window_secs" >= 1 and "task_sessions"."rate_window_calls" >= 0),
	CONSTRAINT "task_sessions_time_limit" CHECK ("task_sessions"."time_limit_ms" >= 0),
	CONSTRAINT "task_sessions_closed_at" CHECK (("task_sessions"."status" = 'closed') = ("task_sessions"."closed_at_ms" is not null))
);
--> statement-breakpoint
CREATE INDEX "task_sessions_agent_idx" ON "task_sessions" USING btree ("agent_id","status");