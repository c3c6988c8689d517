import { z } from './zod';

/** The ClearML response envelope: every response, success or error, has this shape. */
export const envelopeMetaSchema = z.object({
  id: z.string(),
  trx: z.string(),
  endpoint: z.object({
    name: z.string(),
    requested_version: z.string(),
    actual_version: z.string().nullable(),
  }),
  result_code: z.int(),
  result_subcode: z.int(),
  result_msg: z.string(),
  error_stack: z.string().nullable(),
  error_data: z.record(z.string(), z.unknown()),
});
export type EnvelopeMeta = z.infer<typeof envelopeMetaSchema>;

export function envelopeSchema<T extends z.ZodType>(data: T) {
  return z.object({ meta: envelopeMetaSchema, data });
}
