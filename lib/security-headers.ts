/**
 * Content Security Policy of the dashboard pages. Scripts run only with the request's
 * nonce, which Next.js puts on its own script tags, and the scripts those load
 * ('strict-dynamic'). Styles allow 'unsafe-inline' because the charts set style
 * attributes in server-rendered HTML, which a nonce cannot cover. Development builds
 * also need 'unsafe-eval', because React uses eval there for its error overlay.
 */
export function pageContentSecurityPolicy(nonce: string, development: boolean): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${development ? " 'unsafe-eval'" : ''}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Content Security Policy of API responses: JSON that loads nothing and is never framed. */
export const API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'";
