-- Element-by-element operations on the rollups' per-position arrays. Folding whole arrays
-- costs far less than unnesting every sample into a row and grouping the rows again.
-- Arrays of one layout have equal lengths; the results keep the positions in order.
CREATE OR REPLACE FUNCTION "elementwise_least"(real[], real[]) RETURNS real[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT ARRAY(SELECT least(a, b) FROM unnest($1, $2) WITH ORDINALITY AS pair(a, b, position) ORDER BY position) $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "elementwise_greatest"(real[], real[]) RETURNS real[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT ARRAY(SELECT greatest(a, b) FROM unnest($1, $2) WITH ORDINALITY AS pair(a, b, position) ORDER BY position) $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "elementwise_add"(numeric[], numeric[]) RETURNS numeric[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT ARRAY(SELECT a + b FROM unnest($1, $2) WITH ORDINALITY AS pair(a, b, position) ORDER BY position) $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "elementwise_add"(integer[], integer[]) RETURNS integer[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT ARRAY(SELECT a + b FROM unnest($1, $2) WITH ORDINALITY AS pair(a, b, position) ORDER BY position) $$;
--> statement-breakpoint
CREATE AGGREGATE "elementwise_min"(real[]) (SFUNC = "elementwise_least", STYPE = real[]);
--> statement-breakpoint
CREATE AGGREGATE "elementwise_max"(real[]) (SFUNC = "elementwise_greatest", STYPE = real[]);
--> statement-breakpoint
CREATE AGGREGATE "elementwise_sum"(numeric[]) (SFUNC = "elementwise_add", STYPE = numeric[]);
--> statement-breakpoint
CREATE AGGREGATE "elementwise_sum"(integer[]) (SFUNC = "elementwise_add", STYPE = integer[]);
