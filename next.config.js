/** @type {import('next').NextConfig} */
module.exports = {
  // Native and WASM database drivers load at run time instead of being bundled.
  serverExternalPackages: ['@electric-sql/pglite', 'postgres', 'pino'],
  // `/api/workers.get_all/` is a valid path: daemons may send the trailing slash.
  skipTrailingSlashRedirect: true,
  // Keeps `next dev` from writing an AGENTS.md into the checkout.
  agentRules: false,
  poweredByHeader: false,
  // Every response, pages and API. The Content Security Policy is set per request: by
  // proxy.ts for pages, by the API route for the API.
  async headers() {
    return [
      {
        source: '/:path*',
        headers: [
          { key: 'X-Content-Type-Options', value: 'nosniff' },
          { key: 'Referrer-Policy', value: 'same-origin' },
          { key: 'X-Frame-Options', value: 'DENY' },
        ],
      },
    ];
  },
};
