-- A five-minute chunk row becomes about 2.4 kB, above the default threshold of about
-- 2 kB at which PostgreSQL compresses values or moves them out of line; reading them
-- back would then cost a decompression or a lookup per value. The target is raised
-- first, so that the rewrite below keeps the values inline.
ALTER TABLE "chunks_five_minutes" SET (toast_tuple_target = 8160);--> statement-breakpoint
ALTER TABLE "chunks_hour" SET (toast_tuple_target = 8160);--> statement-breakpoint
-- Chunk values become base64 text, encoded once when the chunk is built: encoding them
-- on every read cost as much as reading them. Line breaks that encode() inserts are removed.
ALTER TABLE "chunks_five_minutes"
  ALTER COLUMN "avgs" SET DATA TYPE text USING translate(encode("avgs", 'base64'), E'\n', ''),
  ALTER COLUMN "mins" SET DATA TYPE text USING translate(encode("mins", 'base64'), E'\n', ''),
  ALTER COLUMN "maxs" SET DATA TYPE text USING translate(encode("maxs", 'base64'), E'\n', '');--> statement-breakpoint
ALTER TABLE "chunks_hour"
  ALTER COLUMN "avgs" SET DATA TYPE text USING translate(encode("avgs", 'base64'), E'\n', ''),
  ALTER COLUMN "mins" SET DATA TYPE text USING translate(encode("mins", 'base64'), E'\n', ''),
  ALTER COLUMN "maxs" SET DATA TYPE text USING translate(encode("maxs", 'base64'), E'\n', '');
