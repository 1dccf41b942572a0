ALTER TABLE "session_leases" DROP CONSTRAINT "session_leases_fencing_positive";--> statement-breakpoint
ALTER TABLE "session_leases" ADD COLUMN "enqueue_mark" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "session_leases" ADD CONSTRAINT "session_leases_fencing_positive" CHECK ("session_leases"."fencing_token" >= 0);