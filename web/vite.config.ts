import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * The web app: plain Vite, no plugins. Oxc compiles TSX with the automatic JSX runtime; the
 * build lands in dist/web, which the server serves at `/` (src/http/routes/web.ts).
 * `npm run dev:web` proxies the API to a `tessera serve` on :8000.
 */
export default defineConfig({
  root,
  base: '/',
  publicDir: 'public',
  oxc: { jsx: { runtime: 'automatic', importSource: 'react' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // Chromium, Firefox and Safari have had modulepreload for years; the polyfill would cost bytes.
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: {
    proxy: {
      '/api': { target: 'http://127.0.0.1:8000', ws: true },
      '/uploads': 'http://127.0.0.1:8000',
    },
  },
});
