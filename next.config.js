/** @type {import('next').NextConfig} */
module.exports = {
  // Native and WASM database drivers load at run time instead of being bundled.
  serverExternalPackages: ['@electric-sql/pglite', 'postgres', 'pino'],
  // `/api/workers.get_all/` is a valid path: daemons may send the trailing slash.
  skipTrailingSlashRedirect: true,
  // Keeps `next dev` from writing an AGENTS.md into the checkout.
  agentRules: false,
  poweredByHeader: false,
};
