CREATE TABLE "chunk_queue" (
	"company_id" text NOT NULL,
	"worker_id" text NOT NULL,
	"source" text NOT NULL,
	"chunk_start" timestamp with time zone NOT NULL,
	CONSTRAINT "chunk_queue_company_id_worker_id_source_chunk_start_pk" PRIMARY KEY("company_id","worker_id","source","chunk_start")
);
--> statement-breakpoint
CREATE TABLE "chunks_five_minutes" (
	"company_id" text NOT NULL,
	"worker_id" text NOT NULL,
	"chunk_start" timestamp with time zone NOT NULL,
	"metric" smallint NOT NULL,
	"complete_before" timestamp with time zone NOT NULL,
	"avgs" "bytea" NOT NULL,
	"mins" "bytea" NOT NULL,
	"maxs" "bytea" NOT NULL,
	CONSTRAINT "chunks_five_minutes_company_id_worker_id_chunk_start_metric_pk" PRIMARY KEY("company_id","worker_id","chunk_start","metric")
);
--> statement-breakpoint
CREATE TABLE "chunks_hour" (
	"company_id" text NOT NULL,
	"worker_id" text NOT NULL,
	"chunk_start" timestamp with time zone NOT NULL,
	"metric" smallint NOT NULL,
	"complete_before" timestamp with time zone NOT NULL,
	"avgs" "bytea" NOT NULL,
	"mins" "bytea" NOT NULL,
	"maxs" "bytea" NOT NULL,
	CONSTRAINT "chunks_hour_company_id_worker_id_chunk_start_metric_pk" PRIMARY KEY("company_id","worker_id","chunk_start","metric")
);
--> statement-breakpoint
CREATE INDEX "chunk_queue_source_start_idx" ON "chunk_queue" USING btree ("source","chunk_start");--> statement-breakpoint
CREATE INDEX "chunks_five_minutes_company_start_idx" ON "chunks_five_minutes" USING btree ("company_id","chunk_start","metric");--> statement-breakpoint
CREATE INDEX "chunks_hour_company_start_idx" ON "chunks_hour" USING btree ("company_id","chunk_start","metric");--> statement-breakpoint
CREATE INDEX "reports_time_brin_idx" ON "reports" USING brin ("time");--> statement-breakpoint
-- Rollups written before chunks existed are read from their rows until compacted.
INSERT INTO "chunk_queue" ("company_id", "worker_id", "source", "chunk_start")
SELECT DISTINCT "company_id", "worker_id", 'five_minutes', to_timestamp(floor(extract(epoch FROM "bucket") / 21600) * 21600)
FROM "rollups_five_minutes"
UNION
SELECT DISTINCT "company_id", "worker_id", 'hour', to_timestamp(floor(extract(epoch FROM "bucket") / 86400) * 86400)
FROM "rollups_hour";
