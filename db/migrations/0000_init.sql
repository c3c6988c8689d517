CREATE TABLE "companies" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "layouts" (
	"company_id" text NOT NULL,
	"id" bigint NOT NULL,
	"series" smallint[] NOT NULL,
	"metrics" smallint[] NOT NULL,
	CONSTRAINT "layouts_company_id_id_pk" PRIMARY KEY("company_id","id")
);
--> statement-breakpoint
CREATE TABLE "reports" (
	"company_id" text NOT NULL,
	"worker_id" text NOT NULL,
	"time" timestamp with time zone NOT NULL,
	"task_id" text,
	"layout_id" bigint NOT NULL,
	"values" real[] NOT NULL,
	"xid" "xid8" DEFAULT pg_current_xact_id() NOT NULL
) PARTITION BY RANGE ("time");
--> statement-breakpoint
CREATE TABLE "rollup_state" (
	"name" text PRIMARY KEY NOT NULL,
	"watermark" "xid8" NOT NULL,
	"refreshed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "rollups_five_minutes" (
	"company_id" text NOT NULL,
	"worker_id" text NOT NULL,
	"layout_id" bigint NOT NULL,
	"bucket" timestamp with time zone NOT NULL,
	"reports" integer NOT NULL,
	"task_reports" integer NOT NULL,
	"mins" real[] NOT NULL,
	"maxs" real[] NOT NULL,
	"sums" numeric[] NOT NULL,
	"metric_mins" real[] NOT NULL,
	"metric_maxs" real[] NOT NULL,
	"metric_sums" numeric[] NOT NULL,
	"metric_counts" integer[] NOT NULL,
	CONSTRAINT "rollups_five_minutes_company_id_worker_id_layout_id_bucket_pk" PRIMARY KEY("company_id","worker_id","layout_id","bucket")
) PARTITION BY RANGE ("bucket");
--> statement-breakpoint
CREATE TABLE "rollups_hour" (
	"company_id" text NOT NULL,
	"worker_id" text NOT NULL,
	"layout_id" bigint NOT NULL,
	"bucket" timestamp with time zone NOT NULL,
	"reports" integer NOT NULL,
	"task_reports" integer NOT NULL,
	"mins" real[] NOT NULL,
	"maxs" real[] NOT NULL,
	"sums" numeric[] NOT NULL,
	"metric_mins" real[] NOT NULL,
	"metric_maxs" real[] NOT NULL,
	"metric_sums" numeric[] NOT NULL,
	"metric_counts" integer[] NOT NULL,
	CONSTRAINT "rollups_hour_company_id_worker_id_layout_id_bucket_pk" PRIMARY KEY("company_id","worker_id","layout_id","bucket")
) PARTITION BY RANGE ("bucket");
--> statement-breakpoint
CREATE TABLE "rollups_minute" (
	"company_id" text NOT NULL,
	"worker_id" text NOT NULL,
	"layout_id" bigint NOT NULL,
	"bucket" timestamp with time zone NOT NULL,
	"reports" integer NOT NULL,
	"task_reports" integer NOT NULL,
	"mins" real[] NOT NULL,
	"maxs" real[] NOT NULL,
	"sums" numeric[] NOT NULL,
	"metric_mins" real[] NOT NULL,
	"metric_maxs" real[] NOT NULL,
	"metric_sums" numeric[] NOT NULL,
	"metric_counts" integer[] NOT NULL,
	CONSTRAINT "rollups_minute_company_id_worker_id_layout_id_bucket_pk" PRIMARY KEY("company_id","worker_id","layout_id","bucket")
) PARTITION BY RANGE ("bucket");
--> statement-breakpoint
CREATE TABLE "users" (
	"company_id" text NOT NULL,
	"id" text NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "users_company_id_id_pk" PRIMARY KEY("company_id","id")
);
--> statement-breakpoint
CREATE TABLE "worker_layouts" (
	"company_id" text NOT NULL,
	"worker_id" text NOT NULL,
	"layout_id" bigint NOT NULL,
	CONSTRAINT "worker_layouts_company_id_worker_id_layout_id_pk" PRIMARY KEY("company_id","worker_id","layout_id")
);
--> statement-breakpoint
CREATE TABLE "workers" (
	"company_id" text NOT NULL,
	"user_id" text NOT NULL,
	"worker_id" text NOT NULL,
	"ip" text,
	"register_time" timestamp with time zone NOT NULL,
	"last_activity_time" timestamp with time zone NOT NULL,
	"last_report_time" timestamp with time zone,
	"timeout_seconds" integer NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"task_id" text,
	"project_id" text,
	"queue_id" text,
	"queues" text[] DEFAULT '{}'::text[] NOT NULL,
	"tags" text[] DEFAULT '{}'::text[] NOT NULL,
	"system_tags" text[] DEFAULT '{}'::text[] NOT NULL,
	CONSTRAINT "workers_company_id_user_id_worker_id_pk" PRIMARY KEY("company_id","user_id","worker_id")
);
--> statement-breakpoint
ALTER TABLE "users" ADD CONSTRAINT "users_company_id_companies_id_fk" FOREIGN KEY ("company_id") REFERENCES "public"."companies"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "reports_company_worker_time_idx" ON "reports" USING btree ("company_id","worker_id","time");--> statement-breakpoint
CREATE INDEX "reports_xid_idx" ON "reports" USING btree ("xid");--> statement-breakpoint
CREATE INDEX "reports_company_xid_idx" ON "reports" USING btree ("company_id","xid");--> statement-breakpoint
CREATE INDEX "rollups_five_minutes_company_bucket_idx" ON "rollups_five_minutes" USING btree ("company_id","bucket");--> statement-breakpoint
CREATE INDEX "rollups_hour_company_bucket_idx" ON "rollups_hour" USING btree ("company_id","bucket");--> statement-breakpoint
CREATE INDEX "rollups_minute_company_bucket_idx" ON "rollups_minute" USING btree ("company_id","bucket");--> statement-breakpoint
CREATE INDEX "workers_company_expires_idx" ON "workers" USING btree ("company_id","expires_at");--> statement-breakpoint
-- Partitions of reports and rollups are created on demand by the service (db/partitions.ts).
INSERT INTO "rollup_state" ("name", "watermark") VALUES ('rollups', '0');
