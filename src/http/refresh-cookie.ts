import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/index.js';
import { AppError } from '../errors/app-error.js';

/**
 * Browser clients (the web app) switch to cookie mode by sending the header
 *
 *     X-Tessera-Client: web
 *
 * on /auth/login, /auth/refresh and /auth/logout. Then the refresh token travels only in the
 * `tessera_refresh` cookie (HttpOnly; SameSite=Strict; Path=/api/v1/auth; Secure except on a
 * plain http://localhost PUBLIC_URL) and is left out of the JSON body, out of reach of scripts.
 * Cookie-based calls must carry the same header: a cross-site form cannot set custom headers,
 * so this is the CSRF defence (SameSite=Strict being the other). Everything else about the
 * JSON API stays as it is for other clients.
 */
export const WEB_CLIENT_HEADER = 'x-tessera-client';
export const WEB_CLIENT_VALUE = 'web';
export const REFRESH_COOKIE = 'tessera_refresh';

export function isWebClient(request: FastifyRequest): boolean {
  const h = request.headers[WEB_CLIENT_HEADER];
  return typeof h === 'string' && h.trim().toLowerCase() === WEB_CLIENT_VALUE;
}

function isPlainLocalhost(publicUrl: string): boolean {
  const u = new URL(publicUrl);
  return u.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname);
}

export function refreshCookieOptions(config: Readonly<Config>) {
  return {
    httpOnly: true,
    sameSite: 'strict' as const,
    secure: !isPlainLocalhost(config.server.publicUrl),
    path: `${config.server.apiPrefix}/auth`,
  };
}

export function setRefreshCookie(reply: FastifyReply, config: Readonly<Config>, token: string): void {
  reply.setCookie(REFRESH_COOKIE, token, { ...refreshCookieOptions(config), maxAge: config.auth.refreshTokenDays * 86_400 });
}

export function clearRefreshCookie(reply: FastifyReply, config: Readonly<Config>): void {
  reply.clearCookie(REFRESH_COOKIE, refreshCookieOptions(config));
}

/**
 * The refresh token of a request: the JSON body's, else the cookie's (web clients only).
 * A cookie without the web-client header is refused: that is what a forged cross-site call looks like.
 */
export function presentedRefreshToken(request: FastifyRequest, bodyToken: string | undefined): string | null {
  if (bodyToken) return bodyToken;
  // Cookies are parsed here only (the plugin's per-request parsing is off: @fastify/cookie `hook: false`).
  const header = request.headers.cookie;
  const cookie = header ? request.server.parseCookie(header)[REFRESH_COOKIE] : undefined;
  if (!cookie) return null;
  if (!isWebClient(request)) throw new AppError('csrf_header_required', { detail: `Send ${WEB_CLIENT_HEADER}: ${WEB_CLIENT_VALUE} with cookie-based calls` });
  return cookie;
}
