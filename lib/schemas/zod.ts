import { z } from 'zod';

// zod probes whether eval works when it builds an object schema, to compile fast parsers.
// The pages' Content Security Policy forbids eval, so in the browser the probe is
// reported as a policy violation on every page load. Modules that build schemas the
// pages use import z from here, so that this runs before their first schema.
if (typeof window !== 'undefined') {
  z.config({ jitless: true });
}

export { z };
