import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * Debian's Chromium driven by playwright-core (`npx playwright install` cannot work here;
 * `.ci/run` installs the `chromium` package when it is missing).
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const SCREENSHOT_DIR = path.resolve('test-results/screenshots');

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM_PATH);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
}

/** A port nobody listens on right now (the app's PUBLIC_URL has to name it before it starts). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface AxeViolation {
  id: string;
  impact: 'minor' | 'moderate' | 'serious' | 'critical' | null;
  help: string;
  nodes: string[];
}

export interface AxeSummary {
  violations: AxeViolation[];
  passes: number;
  incomplete: number;
}

let axeSource: string | undefined;

/**
 * axe-core on the page as it is now. The page's CSP forbids inline scripts, so axe is not added
 * as a <script>: it is evaluated through the DevTools protocol, which CSP does not govern.
 */
export async function runAxe(page: Page): Promise<AxeSummary> {
  axeSource ??= readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  const loaded = await page.evaluate('typeof window.axe === "object"');
  if (!loaded) await page.evaluate(axeSource);
  return (await page.evaluate(`
    axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] } })
      .then((r) => ({
        violations: r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) })),
        passes: r.passes.length,
        incomplete: r.incomplete.length,
      }))
  `)) as AxeSummary;
}

/** Each page's axe outcome, written to test-results/axe-results.json at the end of a run. */
export class AxeReport {
  readonly pages: Record<string, { serious: number; critical: number; moderate: number; minor: number; passes: number; violations: AxeViolation[] }> = {};

  add(name: string, summary: AxeSummary): void {
    const count = (impact: AxeViolation['impact']) => summary.violations.filter((v) => v.impact === impact).length;
    this.pages[name] = { serious: count('serious'), critical: count('critical'), moderate: count('moderate'), minor: count('minor'), passes: summary.passes, violations: summary.violations };
  }

  write(file = path.resolve('test-results/axe-results.json')): void {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify(this.pages, null, 2)}\n`);
  }

  table(): string {
    const rows = Object.entries(this.pages).map(([name, r]) => `| ${name} | ${r.critical} | ${r.serious} | ${r.moderate} | ${r.minor} | ${r.passes} |`);
    return ['| page | critical | serious | moderate | minor | rules passed |', '| --- | --- | --- | --- | --- | --- |', ...rows].join('\n');
  }
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}
