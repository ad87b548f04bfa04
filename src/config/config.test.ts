import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ARGON2_MAX_THREADS, ConfigError, loadConfig, readConfig } from './index.js';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('loadConfig', () => {
  it('needs no variables: embedded development defaults from the seeds', () => {
    const c = loadConfig({});
    expect(c.environment).toBe('development');
    expect(c.server).toMatchObject({ host: '0.0.0.0', port: 8000, publicUrl: 'http://localhost:8000', apiPrefix: '/api/v1', allowedHosts: null, docsUrl: '/docs', hsts: false, trustProxy: false });
    expect(c.database).toMatchObject({ url: null, poolSize: 5, maxOverflow: 10, migrateOnStart: true });
    expect(c.redis.url).toBeNull();
    expect(c.auth.argon2).toEqual({ memoryKiB: 19_456, iterations: 2, parallelism: 1, threads: Math.min(availableParallelism(), ARGON2_MAX_THREADS), nice: 10 });
    expect(c.auth).toMatchObject({ algorithm: 'EdDSA', issuer: 'http://localhost:8000', accessTokenMinutes: 15, refreshTokenDays: 30, serviceTokenMinutes: 15, maxLoginAttempts: 5, lockoutMinutes: 30, refreshReuseIntervalSeconds: 10 });
    expect(c.password).toMatchObject({ minLength: 12, maxLength: 128, preventReuseCount: 10, maxAgeDays: 90 });
    expect(c.profiles).toMatchObject({ maxDisplayNameLength: 100, maxBioLength: 500, cacheTtlSeconds: 300, defaultVisibility: 'public', defaultShowEmail: false, defaultShowActivity: true });
    expect(c.avatars).toMatchObject({ maxSizeMb: 5, formats: ['jpeg', 'png', 'webp'], optimizedSize: 800, thumbnailSize: 200, quality: 85 });
    expect(c.files).toMatchObject({ maxFileSizeMb: 100, allowedTypes: ['image/*', 'application/pdf', 'text/*'], userQuotaMb: 1024 });
    expect(c.rateLimit.profileUpdate).toMatchObject({ max: 60, windowMs: 60_000 });
    expect(c.rateLimit.avatarUpload).toMatchObject({ max: 10, windowMs: 3_600_000 });
    expect(c.rateLimit.headers).toBe('near');
    expect(c.storage.provider).toBe('local');
    expect(Object.isFrozen(c.server)).toBe(true);
  });

  it('applies the ENVIRONMENT presets of seeds 002 and 003, each overridable', () => {
    const prod = loadConfig({ ENVIRONMENT: 'production', JWT_SECRET_KEY: 'x'.repeat(32), DATABASE_URL: 'postgresql://u@db/tessera' });
    expect(prod.database).toMatchObject({ poolSize: 20, maxOverflow: 30 });
    expect(prod.rateLimit.login).toMatchObject({ max: 5, windowMs: 60_000 });
    expect(prod.rateLimit.register).toMatchObject({ max: 3, windowMs: 3_600_000 });
    expect(prod.rateLimit.fileDelete.max).toBe(20);
    expect(prod.logging.format).toBe('json');
    expect(prod.server.docsUrl).toBeNull();
    expect(prod.server.hsts).toBe(true);
    expect(prod.server.allowedHosts).toEqual(['localhost']);
    const staging = loadConfig({ ENVIRONMENT: 'staging' });
    expect(staging.database).toMatchObject({ poolSize: 10, maxOverflow: 20 });
    expect(staging.rateLimit.login.max).toBe(10);
    expect(staging.rateLimit.fileDelete.max).toBe(30);
    const overridden = loadConfig({
      ENVIRONMENT: 'production',
      JWT_SECRET_KEY: 'x'.repeat(32),
      DATABASE_URL: 'postgresql+asyncpg://u@db/tessera',
      DATABASE_POOL_SIZE: '7',
      RATE_LIMIT_LOGIN: '9/hour',
      LOG_FORMAT: 'pretty',
      DOCS_URL: '/api-docs',
      PUBLIC_URL: 'https://id.example.com/',
    });
    expect(overridden.database.poolSize).toBe(7);
    expect(overridden.database.url).toBe('postgresql://u@db/tessera');
    expect(overridden.rateLimit.login).toMatchObject({ max: 9, windowMs: 3_600_000, text: '9/hour' });
    expect(overridden.logging.format).toBe('pretty');
    expect(overridden.server.docsUrl).toBe('/api-docs');
    expect(overridden.server.publicUrl).toBe('https://id.example.com');
    expect(overridden.server.allowedHosts).toEqual(['id.example.com']);
  });

  it("accepts the seeds' spellings: SECRET_KEY, AWS_BUCKET_NAME, JSON-array ALLOWED_ORIGINS, bare-number limits", () => {
    const c = loadConfig({
      SECRET_KEY: 's'.repeat(40),
      AWS_BUCKET_NAME: 'avatars',
      STORAGE_PROVIDER: 's3',
      ALLOWED_ORIGINS: '["https://unilink.app", "https://www.unilink.app"]',
      PROFILE_UPDATE_RATE_LIMIT: '30',
      AVATAR_UPLOAD_RATE_LIMIT: '4',
      TRUST_PROXY: '10.0.0.0/8, 127.0.0.1',
    });
    expect(c.auth.secret).toBe('s'.repeat(40));
    expect(c.storage.s3.bucket).toBe('avatars');
    expect(c.server.allowedOrigins).toEqual(['https://unilink.app', 'https://www.unilink.app']);
    expect(c.rateLimit.profileUpdate).toMatchObject({ max: 30, windowMs: 60_000 });
    expect(c.rateLimit.avatarUpload).toMatchObject({ max: 4, windowMs: 3_600_000 });
    expect(c.server.trustProxy).toEqual(['10.0.0.0/8', '127.0.0.1']);
  });

  it('reports every bad variable at once, one line each, naming it', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      RATE_LIMIT_LOGIN: 'lots',
      MAX_LOGIN_ATTEMPTS: '0',
      ENABLE_METRICS: 'maybe',
      ENVIRONMENT: 'prod',
      DATABASE_URL: 'mysql://x',
      METRICS_ALLOW: '10.0.0.0/8,not-a-cidr',
      TRUST_PROXY: 'somewhere',
      AVATAR_FORMATS: 'jpeg,gif',
      ALLOWED_FILE_TYPES: 'image/*,nonsense',
      RATE_LIMIT_HEADERS: 'sometimes',
    });
    const names = problems.map((p) => p.split(':')[0]);
    expect(names).toEqual(
      expect.arrayContaining(['PORT', 'RATE_LIMIT_LOGIN', 'MAX_LOGIN_ATTEMPTS', 'ENABLE_METRICS', 'ENVIRONMENT', 'DATABASE_URL', 'METRICS_ALLOW', 'TRUST_PROXY', 'AVATAR_FORMATS', 'ALLOWED_FILE_TYPES', 'RATE_LIMIT_HEADERS']),
    );
    for (const p of problems) expect(p).not.toContain('\n');
  });

  it('production refuses a missing or short secret, * origins with credentials, and the embedded database', () => {
    const missing = problemsOf({ ENVIRONMENT: 'production', ALLOWED_ORIGINS: '*' });
    expect(missing).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^JWT_SECRET_KEY: is required in production/),
        expect.stringMatching(/^ALLOWED_ORIGINS: a wildcard/),
        expect.stringMatching(/^DATABASE_URL: is required in production/),
      ]),
    );
    expect(problemsOf({ ENVIRONMENT: 'production', JWT_SECRET_KEY: 'short', DATABASE_URL: 'postgres://db/x' })).toEqual([
      'JWT_SECRET_KEY: is too short: 5 bytes, at least 32 needed in production',
    ]);
    expect(problemsOf({ ENVIRONMENT: 'production', JWT_SECRET_KEY: 'x'.repeat(32), ALLOW_EMBEDDED_IN_PRODUCTION: 'true' })).toEqual([]);
    expect(problemsOf({ ENVIRONMENT: 'production', JWT_SECRET_KEY: 'x'.repeat(32), DATABASE_URL: 'postgres://db/x', ALLOWED_ORIGINS: '*', ALLOW_CREDENTIALS: 'false' })).toEqual([]);
  });

  it('HS256 needs a secret of at least 32 bytes in every environment', () => {
    expect(problemsOf({ JWT_ALGORITHM: 'HS256' })).toEqual(['JWT_SECRET_KEY: is required when JWT_ALGORITHM=HS256']);
    expect(problemsOf({ JWT_ALGORITHM: 'HS256', JWT_SECRET_KEY: 'y'.repeat(32) })).toEqual([]);
  });

  it('.env.example lists every variable loadConfig reads', () => {
    const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
    const listed = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]));
    const { names } = readConfig({});
    const missing = [...names].filter((n) => !listed.has(n));
    expect(missing).toEqual([]);
  });
});
