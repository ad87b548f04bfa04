import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config/index.js';
import type { Container } from '../../container.js';
import type { NotFoundFallback } from '../plugins/errors.js';
import { computeSecurityHeaders } from '../plugins/security.js';
import { PACKAGE_ROOT } from '../../package-root.js';

/**
 * The web app (web/, built by `npm run build` into dist/web) at `/`:
 *
 * - hashed files under /assets/ are cached for a year (their names change with their content),
 *   and served pre-compressed (.br/.gz written by scripts/build-web.mjs);
 * - `index.html` answers `/` and every other GET that a browser navigates to (Accept: text/html)
 *   outside the API, the uploads, the docs and the operations endpoints, so client routes like
 *   `/login` or `/u/:id` load the app; anything else keeps the API's problem+json 404;
 * - HTML carries helmet's full set of browser headers (CSP `script-src 'self'`: the build has no
 *   inline script), not the trimmed set JSON gets.
 */

export const WEB_ROOT = path.join(PACKAGE_ROOT, 'dist', 'web') + path.sep;

const ASSET_CACHE = 'public, max-age=31536000, immutable';
const FILE_CACHE = 'public, max-age=3600';
// index.html names the current assets: always revalidated, so a deploy is picked up at once.
const HTML_CACHE = 'no-cache';
const API_PREFIX_META = /(<meta name="tessera-api-prefix" content=")[^"]*(")/;

export interface WebRoutesOptions {
  /** the built app; tests point it elsewhere */
  root?: string;
}

/**
 * The CSP of the pages: helmet's, plus the object store's origin for images (avatars) and
 * fetches (downloads redirect there) when it is not this server (S3, a CDN, Cloudinary).
 */
export function webAppSecurityHeaders(config: Readonly<Config>, storageOrigin: string | null): Record<string, string> {
  const headers = computeSecurityHeaders(config);
  const csp = headers['content-security-policy'];
  if (csp && storageOrigin && storageOrigin !== new URL(config.server.publicUrl).origin) {
    headers['content-security-policy'] = csp
      .split(';')
      .map((d) => d.trim())
      .map((d) => (d.startsWith('img-src ') || d.startsWith('connect-src ') ? `${d} ${storageOrigin}` : d))
      .join(';');
  }
  return headers;
}

function storageOriginOf(container: Container): string | null {
  try {
    return new URL(container.storage.publicUrl('probe')).origin;
  } catch {
    return null;
  }
}

/** Paths that are never the web app, whatever the Accept header says. */
function serverPaths(config: Readonly<Config>): string[] {
  const paths = ['/api', config.server.apiPrefix, '/uploads', '/openapi.json', '/health', '/ready', '/.well-known', config.metrics.path];
  if (config.server.docsUrl) paths.push(config.server.docsUrl);
  return paths;
}

function under(path: string, prefixes: readonly string[]): boolean {
  return prefixes.some((p) => path === p || path.startsWith(p.endsWith('/') ? p : `${p}/`));
}

/** Registers the app's files and `/`; returns the fallback that answers client routes, or null when unbuilt. */
export async function webRoutes(app: FastifyInstance, container: Container, options: WebRoutesOptions = {}): Promise<NotFoundFallback | null> {
  const { config, logger } = container;
  const root = options.root ?? WEB_ROOT;
  const indexFile = `${root.replace(/\/$/, '')}/index.html`;
  if (!existsSync(indexFile)) {
    logger.warn({ root }, 'the web app is not built (run `npm run build`); serving the API only');
    return null;
  }
  const html = readFileSync(indexFile, 'utf8').replace(API_PREFIX_META, `$1${config.server.apiPrefix}$2`);
  const htmlHeaders = { ...webAppSecurityHeaders(config, storageOriginOf(container)), 'content-type': 'text/html; charset=utf-8', 'cache-control': HTML_CACHE };
  const excluded = serverPaths(config);

  const sendApp = (reply: FastifyReply) => reply.code(200).headers(htmlHeaders).send(html);

  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    // One route per built file, found at start-up: no catch-all route to shadow the API's 404s.
    wildcard: false,
    index: false,
    decorateReply: false,
    preCompressed: true,
    cacheControl: false,
    globIgnore: ['index.html', '**/*.gz', '**/*.br', '.build-stamp'],
    setHeaders(reply: FastifyReply, filePath: string) {
      reply.header('cache-control', filePath.includes('/assets/') ? ASSET_CACHE : FILE_CACHE);
    },
  });

  app.get('/', { schema: { hide: true } }, async (_request, reply) => sendApp(reply));

  // Client routes: a navigation that matched no server route gets the app, which routes it
  // (asked by the not-found handler, so requests that matched a route never pay for it).
  return (request: FastifyRequest, reply: FastifyReply) => {
    if ((request.method !== 'GET' && request.method !== 'HEAD') || !(request.headers.accept ?? '').includes('text/html') || under(request.url.split('?')[0] ?? '/', excluded)) {
      return false;
    }
    sendApp(reply);
    return true;
  };
}
