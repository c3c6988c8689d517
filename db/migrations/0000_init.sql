CREATE TABLE "companies" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "users" (
	"company_id" text NOT NULL,
	"id" text NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "users_company_id_id_pk" PRIMARY KEY("company_id","id")
);
--> statement-breakpoint
CREATE TABLE "worker_reports" (
	"company_id" text NOT NULL,
	"worker_id" text NOT NULL,
	"time" timestamp with time zone NOT NULL,
	"task_id" text
);
--> statement-breakpoint
CREATE TABLE "worker_stats" (
	"company_id" text NOT NULL,
	"worker_id" text NOT NULL,
	"time" timestamp with time zone NOT NULL,
	"metric" text NOT NULL,
	"scalar" boolean NOT NULL,
	"values" real[] NOT NULL
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
CREATE INDEX "worker_reports_company_time_idx" ON "worker_reports" USING btree ("company_id","time");--> statement-breakpoint
CREATE INDEX "worker_stats_company_worker_metric_time_idx" ON "worker_stats" USING btree ("company_id","worker_id","metric","time");--> statement-breakpoint
CREATE INDEX "worker_stats_company_time_idx" ON "worker_stats" USING btree ("company_id","time");--> statement-breakpoint
CREATE INDEX "workers_company_expires_idx" ON "workers" USING btree ("company_id","expires_at");