CREATE TABLE "credentials" (
	"access_key" text PRIMARY KEY NOT NULL,
	"company_id" text NOT NULL,
	"user_id" text NOT NULL,
	"secret_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "service_secrets" (
	"name" text PRIMARY KEY NOT NULL,
	"value" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "role" text DEFAULT 'user' NOT NULL;--> statement-breakpoint
ALTER TABLE "credentials" ADD CONSTRAINT "credentials_company_id_user_id_users_company_id_id_fk" FOREIGN KEY ("company_id","user_id") REFERENCES "public"."users"("company_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "credentials_company_user_idx" ON "credentials" USING btree ("company_id","user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "companies_name_idx" ON "companies" USING btree ("name");--> statement-breakpoint
CREATE UNIQUE INDEX "users_company_name_idx" ON "users" USING btree ("company_id","name");--> statement-breakpoint
-- The user created at first start (lib/identity.ts) administers the default company.
UPDATE "users" SET "role" = 'admin' WHERE "company_id" = 'd1bd92a3b039400cbafc60a7a5b1e52b' AND "id" = '3c4d0d0e4a4b4b0c9f5e3a1b2c3d4e5f';
