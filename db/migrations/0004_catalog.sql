CREATE TABLE "projects" (
	"company_id" text NOT NULL,
	"id" text NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"user_id" text NOT NULL,
	"created" timestamp with time zone NOT NULL,
	CONSTRAINT "projects_company_id_id_pk" PRIMARY KEY("company_id","id")
);
--> statement-breakpoint
CREATE TABLE "queue_entries" (
	"company_id" text NOT NULL,
	"queue_id" text NOT NULL,
	"task_id" text NOT NULL,
	"added" timestamp with time zone NOT NULL,
	"position" bigint GENERATED ALWAYS AS IDENTITY (sequence name "queue_entries_position_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	CONSTRAINT "queue_entries_company_id_queue_id_task_id_pk" PRIMARY KEY("company_id","queue_id","task_id")
);
--> statement-breakpoint
CREATE TABLE "queues" (
	"company_id" text NOT NULL,
	"id" text NOT NULL,
	"name" text NOT NULL,
	"display_name" text,
	"user_id" text NOT NULL,
	"created" timestamp with time zone NOT NULL,
	"last_update" timestamp with time zone NOT NULL,
	"tags" text[] DEFAULT '{}'::text[] NOT NULL,
	"system_tags" text[] DEFAULT '{}'::text[] NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	CONSTRAINT "queues_company_id_id_pk" PRIMARY KEY("company_id","id")
);
--> statement-breakpoint
CREATE TABLE "tasks" (
	"company_id" text NOT NULL,
	"id" text NOT NULL,
	"name" text NOT NULL,
	"type" text NOT NULL,
	"status" text NOT NULL,
	"status_reason" text,
	"status_message" text,
	"project_id" text,
	"user_id" text NOT NULL,
	"comment" text,
	"queue_id" text,
	"created" timestamp with time zone NOT NULL,
	"started" timestamp with time zone,
	"completed" timestamp with time zone,
	"status_changed" timestamp with time zone NOT NULL,
	"last_update" timestamp with time zone NOT NULL,
	"last_iteration" integer DEFAULT 0 NOT NULL,
	"active_duration_ms" bigint DEFAULT 0 NOT NULL,
	"in_progress_since" timestamp with time zone,
	"tags" text[] DEFAULT '{}'::text[] NOT NULL,
	"system_tags" text[] DEFAULT '{}'::text[] NOT NULL,
	CONSTRAINT "tasks_company_id_id_pk" PRIMARY KEY("company_id","id")
);
--> statement-breakpoint
ALTER TABLE "queue_entries" ADD CONSTRAINT "queue_entries_company_id_queue_id_queues_company_id_id_fk" FOREIGN KEY ("company_id","queue_id") REFERENCES "public"."queues"("company_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "queue_entries" ADD CONSTRAINT "queue_entries_company_id_task_id_tasks_company_id_id_fk" FOREIGN KEY ("company_id","task_id") REFERENCES "public"."tasks"("company_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "queue_entries_company_queue_position_idx" ON "queue_entries" USING btree ("company_id","queue_id","position");--> statement-breakpoint
CREATE INDEX "queue_entries_company_task_idx" ON "queue_entries" USING btree ("company_id","task_id");--> statement-breakpoint
CREATE INDEX "tasks_company_project_idx" ON "tasks" USING btree ("company_id","project_id");