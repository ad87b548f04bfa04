import { availableParallelism } from 'node:os';
import path from 'node:path';
import ipaddr from 'ipaddr.js';
import { EnvReader, rate, type Env, type RateRule } from './env-reader.js';
import { ENVIRONMENTS, PRESETS, type Environment } from './presets.js';
import { PACKAGE_VERSION } from '../package-root.js';

export type { Env, RateRule } from './env-reader.js';
export type { Environment } from './presets.js';

export type Visibility = 'public' | 'users' | 'private';
export type TrustProxy = false | true | number | string[];

export interface Config {
  environment: Environment;
  version: string;
  dataDir: string;
  server: {
    host: string;
    port: number;
    publicUrl: string;
    apiPrefix: string;
    /** null: any Host is accepted (development default) */
    allowedHosts: string[] | null;
    allowedOrigins: string[];
    /** development also accepts any http(s) origin on localhost */
    allowLocalhostOrigins: boolean;
    allowCredentials: boolean;
    trustProxy: TrustProxy;
    bodyLimitBytes: number;
    shutdownTimeoutMs: number;
    requestTimeoutMs: number;
    /** an upload may pause this long between bytes (UPLOAD_IDLE_TIMEOUT_MS) */
    uploadIdleTimeoutMs: number;
    /** and take this long in all (UPLOAD_TIMEOUT_MS) */
    uploadTimeoutMs: number;
    docsUrl: string | null;
    hsts: boolean;
  };
  database: {
    url: string | null;
    poolSize: number;
    maxOverflow: number;
    poolTimeoutMs: number;
    statementTimeoutMs: number;
    /** hot statements as named, prepared statements (DATABASE_PREPARED_STATEMENTS); off behind a pooler that can't keep them */
    preparedStatements: boolean;
    migrateOnStart: boolean;
  };
  redis: {
    url: string | null;
    keyPrefix: string;
    /** W of the near cache (revocations, cached users and profiles read locally); 0: off */
    nearCacheMs: number;
    /** rate-limit quota leased per instance in blocks of this % of a limit; 0: every hit in Redis */
    leasePercent: number;
  };
  auth: {
    secret: string | null;
    algorithm: 'EdDSA' | 'HS256';
    issuer: string;
    audience: string;
    accessTokenMinutes: number;
    refreshTokenDays: number;
    serviceTokenMinutes: number;
    refreshReuseIntervalSeconds: number;
    maxLoginAttempts: number;
    lockoutMinutes: number;
    requireEmailVerification: boolean;
    registrationEnumerationSafe: boolean;
    argon2: { memoryKiB: number; iterations: number; parallelism: number; threads: number; nice: number };
  };
  password: {
    minLength: number;
    maxLength: number;
    requireUppercase: boolean;
    requireLowercase: boolean;
    requireDigits: boolean;
    requireSpecial: boolean;
    preventReuseCount: number;
    maxAgeDays: number;
    rejectCommon: boolean;
  };
  rateLimit: {
    enabled: boolean;
    /** which successful answers carry RateLimit-* (a 429 always does): `near` once half a window's quota is used */
    headers: 'near' | 'always';
    login: RateRule;
    register: RateRule;
    refresh: RateRule;
    serviceToken: RateRule;
    api: RateRule;
    fileDelete: RateRule;
    profileUpdate: RateRule;
    avatarUpload: RateRule;
  };
  /** what the database keeps of ended sessions, expired tokens and audit events (modules/operations/retention.ts) */
  retention: { intervalMinutes: number; sessionDays: number; auditDays: number };
  logging: { level: string; format: 'json' | 'pretty' };
  metrics: { enabled: boolean; path: string; allow: string[]; token: string | null };
  storage: {
    provider: 'local' | 's3' | 'cloudinary';
    s3: {
      bucket: string | null;
      region: string;
      endpoint: string | null;
      forcePathStyle: boolean;
      customDomain: string | null;
      /** AWS_S3_PRESIGN_ENDPOINT: where browsers reach the store, for signed download URLs */
      presignEndpoint: string | null;
      accessKeyId: string | null;
      secretAccessKey: string | null;
    };
    cloudinaryUrl: string | null;
  };
  avatars: { maxSizeMb: number; formats: string[]; optimizedSize: number; thumbnailSize: number; quality: number };
  profiles: {
    maxDisplayNameLength: number;
    maxBioLength: number;
    cacheTtlSeconds: number;
    defaultVisibility: Visibility;
    defaultShowEmail: boolean;
    defaultShowActivity: boolean;
  };
  files: { maxFileSizeMb: number; allowedTypes: string[]; userQuotaMb: number };
  mail: {
    from: string;
    smtp: { host: string; port: number; user: string | null; password: string | null; secure: boolean } | null;
  };
  realtime: { maxConnectionsPerUser: number };
  sentryDsn: string | null;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

// Loopback and private ranges (seed 003's nginx allows 10/8, 172.16/12, 192.168/16 for /metrics).
/** The most hashing threads ARGON2_THREADS may ask for, and the ceiling of its per-core default. */
export const ARGON2_MAX_THREADS = 64;
const DEFAULT_METRICS_ALLOW = ['127.0.0.0/8', '::1/128', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'];

/** Reads every setting once; throws ConfigError naming every bad variable. */
export function loadConfig(env: Env): Readonly<Config> {
  return readConfig(env).config;
}

/** Also returns the variable names read, so a test can hold `.env.example` to them. */
export function readConfig(env: Env): { config: Readonly<Config>; names: Set<string> } {
  const r = new EnvReader(env);
  const environment = r.oneOf('ENVIRONMENT', ENVIRONMENTS, 'development');
  const preset = PRESETS[environment];
  const prod = environment === 'production';
  const strict = environment !== 'development';

  const port = r.int('PORT', 8000, { min: 0, max: 65535 });
  const host = r.str('HOST', '0.0.0.0');
  const publicUrl = (r.url('PUBLIC_URL', `http://localhost:${port}`, ['http:', 'https:']) ?? '').replace(/\/+$/, '');
  const apiPrefix = r.str('API_V1_PREFIX', '/api/v1');
  if (!/^\/[A-Za-z0-9/_-]*[A-Za-z0-9_-]$/.test(apiPrefix)) r.problem('API_V1_PREFIX', 'must be a path like /api/v1');

  const allowedOrigins = r.list('ALLOWED_ORIGINS', [], ['CORS_ORIGINS']);
  const allowCredentials = r.bool('ALLOW_CREDENTIALS', true);
  const allowedHostsSetting = r.list('ALLOWED_HOSTS', []);
  let allowedHosts: string[] | null = allowedHostsSetting.length ? allowedHostsSetting.map((h) => h.toLowerCase()) : null;
  if (!allowedHosts && strict) allowedHosts = [new URL(publicUrl || 'http://localhost').hostname.toLowerCase()];

  const trustProxy = readTrustProxy(r);
  const docsSetting = r.raw('DOCS_URL');
  const docsUrl = docsSetting === undefined ? preset.docsUrl : docsSetting === 'off' ? null : docsSetting;

  const dataDir = path.resolve(r.str('DATA_DIR', './data'));
  const databaseUrl = r.url('DATABASE_URL', null, ['postgres:', 'postgresql:', 'postgresql+asyncpg:']);
  const redisUrl = r.url('REDIS_URL', null, ['redis:', 'rediss:']);

  const secret = r.optional('JWT_SECRET_KEY', ['SECRET_KEY']);
  const algorithm = r.oneOf('JWT_ALGORITHM', ['EdDSA', 'HS256'] as const, 'EdDSA', ['ALGORITHM']);

  const metricsAllow = r.list('METRICS_ALLOW', DEFAULT_METRICS_ALLOW);
  for (const cidr of metricsAllow) {
    if (!isCidr(cidr)) r.problem('METRICS_ALLOW', `"${cidr}" is not an address or CIDR range`);
  }

  const storageProvider = r.oneOf('STORAGE_PROVIDER', ['local', 's3', 'cloudinary'] as const, 'local');
  const s3Bucket = r.optional('AWS_S3_BUCKET', ['AWS_BUCKET_NAME']);
  const cloudinaryUrl = r.url('CLOUDINARY_URL', null, ['cloudinary:']);

  const smtpHost = r.optional('SMTP_HOST', ['SMTP_SERVER']);
  const smtpPort = r.int('SMTP_PORT', 587, { min: 1, max: 65535 });

  const visibility = r.oneOf('DEFAULT_PROFILE_VISIBILITY', ['public', 'users', 'private'] as const, 'public');

  const config: Config = {
    environment,
    version: PACKAGE_VERSION,
    dataDir,
    server: {
      host,
      port,
      publicUrl,
      apiPrefix,
      allowedHosts,
      allowedOrigins,
      allowLocalhostOrigins: !strict,
      allowCredentials,
      trustProxy,
      bodyLimitBytes: r.int('BODY_LIMIT_BYTES', 1_048_576, { min: 1024 }),
      shutdownTimeoutMs: r.int('SHUTDOWN_TIMEOUT_MS', 10_000, { min: 0 }),
      requestTimeoutMs: r.int('REQUEST_TIMEOUT_MS', 120_000, { min: 1000 }),
      uploadIdleTimeoutMs: r.int('UPLOAD_IDLE_TIMEOUT_MS', 30_000, { min: 1000 }),
      uploadTimeoutMs: r.int('UPLOAD_TIMEOUT_MS', 3_600_000, { min: 1000 }),
      docsUrl,
      hsts: prod,
    },
    database: {
      url: databaseUrl?.replace(/^postgresql\+asyncpg:/, 'postgresql:') ?? null,
      poolSize: r.int('DATABASE_POOL_SIZE', preset.databasePoolSize, { min: 1, max: 1000 }),
      maxOverflow: r.int('DATABASE_MAX_OVERFLOW', preset.databaseMaxOverflow, { min: 0, max: 1000 }),
      poolTimeoutMs: r.int('DATABASE_POOL_TIMEOUT', 30, { min: 1 }) * 1000,
      statementTimeoutMs: r.int('DATABASE_STATEMENT_TIMEOUT_MS', 15_000, { min: 0 }),
      preparedStatements: r.bool('DATABASE_PREPARED_STATEMENTS', true),
      migrateOnStart: r.bool('MIGRATE_ON_START', true),
    },
    redis: {
      url: redisUrl,
      keyPrefix: r.str('REDIS_KEY_PREFIX', 'tessera:'),
      nearCacheMs: r.int('REDIS_NEAR_CACHE_MS', 100, { min: 0, max: 10_000 }),
      leasePercent: r.int('RATE_LIMIT_LEASE_PERCENT', 1, { min: 0, max: 10 }),
    },
    auth: {
      secret,
      algorithm,
      issuer: r.str('JWT_ISSUER', publicUrl),
      audience: r.str('JWT_AUDIENCE', 'tessera'),
      accessTokenMinutes: r.int('ACCESS_TOKEN_EXPIRE_MINUTES', 15, { min: 1, aliases: ['JWT_ACCESS_TOKEN_EXPIRE_MINUTES'] }),
      refreshTokenDays: r.int('REFRESH_TOKEN_EXPIRE_DAYS', 30, { min: 1, aliases: ['JWT_REFRESH_TOKEN_EXPIRE_DAYS'] }),
      serviceTokenMinutes: r.int('SERVICE_TOKEN_EXPIRE_MINUTES', 15, { min: 1 }),
      refreshReuseIntervalSeconds: r.int('REFRESH_REUSE_INTERVAL_SECONDS', 10, { min: 0, max: 300 }),
      maxLoginAttempts: r.int('MAX_LOGIN_ATTEMPTS', 5, { min: 1 }),
      lockoutMinutes: r.int('LOCKOUT_DURATION_MINUTES', 30, { min: 1 }),
      requireEmailVerification: r.bool('REQUIRE_EMAIL_VERIFICATION', false),
      registrationEnumerationSafe: r.bool('REGISTRATION_ENUMERATION_SAFE', false),
      // OWASP password storage cheat sheet: argon2id, m=19 MiB, t=2, p=1.
      argon2: {
        memoryKiB: r.int('ARGON2_MEMORY_KIB', 19_456, { min: 1024 }),
        iterations: r.int('ARGON2_ITERATIONS', 2, { min: 1 }),
        parallelism: r.int('ARGON2_PARALLELISM', 1, { min: 1, max: 16 }),
        // Hashes at once, each on a thread of its own (one per core, up to the setting's bound:
        // more only time-slice the cores between memory-hard hashes), and how far below the
        // event loop they run (Linux nice; 0: same priority): hash-threads.ts.
        threads: r.int('ARGON2_THREADS', Math.min(availableParallelism(), ARGON2_MAX_THREADS), { min: 1, max: ARGON2_MAX_THREADS }),
        nice: r.int('ARGON2_NICE', 10, { min: 0, max: 19 }),
      },
    },
    password: {
      minLength: r.int('PASSWORD_MIN_LENGTH', 12, { min: 1, max: 128 }),
      maxLength: r.int('PASSWORD_MAX_LENGTH', 128, { min: 8, max: 1024 }),
      requireUppercase: r.bool('PASSWORD_REQUIRE_UPPERCASE', true),
      requireLowercase: r.bool('PASSWORD_REQUIRE_LOWERCASE', true),
      requireDigits: r.bool('PASSWORD_REQUIRE_DIGITS', true),
      requireSpecial: r.bool('PASSWORD_REQUIRE_SPECIAL', true),
      preventReuseCount: r.int('PASSWORD_PREVENT_REUSE_COUNT', 10, { min: 0, max: 100 }),
      maxAgeDays: r.int('PASSWORD_MAX_AGE_DAYS', 90, { min: 0 }),
      rejectCommon: r.bool('PASSWORD_REJECT_COMMON', true),
    },
    rateLimit: {
      enabled: r.bool('RATE_LIMIT_ENABLED', true),
      headers: r.oneOf('RATE_LIMIT_HEADERS', ['near', 'always'] as const, 'near'),
      login: r.rate('RATE_LIMIT_LOGIN', preset.rateLimits.login),
      register: r.rate('RATE_LIMIT_REGISTER', preset.rateLimits.register),
      refresh: r.rate('RATE_LIMIT_REFRESH', preset.rateLimits.refresh),
      serviceToken: r.rate('RATE_LIMIT_SERVICE_TOKEN', preset.rateLimits.serviceToken),
      api: r.rate('RATE_LIMIT_API', preset.rateLimits.api),
      fileDelete: r.rate('RATE_LIMIT_FILE_DELETE', preset.rateLimits.fileDelete),
      // seed 000: profile updates 60 per minute, avatar uploads 10 per hour (bare numbers)
      profileUpdate: r.rate('PROFILE_UPDATE_RATE_LIMIT', rate('60/minute'), 'minute'),
      avatarUpload: r.rate('AVATAR_UPLOAD_RATE_LIMIT', rate('10/hour'), 'hour'),
    },
    retention: {
      intervalMinutes: r.int('RETENTION_INTERVAL_MINUTES', 60, { min: 0, max: 10_080 }),
      sessionDays: r.int('SESSION_RETENTION_DAYS', 30, { min: 1, max: 3_650 }),
      // seed 004: audit logs a year
      auditDays: r.int('AUDIT_RETENTION_DAYS', 365, { min: 0, max: 36_500 }),
    },
    logging: {
      level: r.oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, preset.logLevel as 'info'),
      format: r.oneOf('LOG_FORMAT', ['json', 'pretty'] as const, preset.logFormat),
    },
    metrics: {
      enabled: r.bool('ENABLE_METRICS', true),
      path: r.str('METRICS_PATH', '/metrics'),
      allow: metricsAllow,
      token: r.optional('METRICS_TOKEN'),
    },
    storage: {
      provider: storageProvider,
      s3: {
        bucket: s3Bucket,
        region: r.str('AWS_REGION', 'us-east-1', ['AWS_DEFAULT_REGION']),
        endpoint: r.url('AWS_S3_ENDPOINT', null, ['http:', 'https:']),
        forcePathStyle: r.bool('AWS_S3_FORCE_PATH_STYLE', false),
        customDomain: r.optional('AWS_S3_CUSTOM_DOMAIN'),
        presignEndpoint: r.url('AWS_S3_PRESIGN_ENDPOINT', null, ['http:', 'https:']),
        accessKeyId: r.optional('AWS_ACCESS_KEY_ID'),
        secretAccessKey: r.optional('AWS_SECRET_ACCESS_KEY'),
      },
      cloudinaryUrl,
    },
    avatars: {
      maxSizeMb: r.int('MAX_AVATAR_SIZE_MB', 5, { min: 1, max: 100 }),
      formats: r.list('AVATAR_FORMATS', ['jpeg', 'png', 'webp']).map((f) => f.toLowerCase()),
      optimizedSize: r.int('AVATAR_OPTIMIZED_SIZE', 800, { min: 16, max: 4096 }),
      thumbnailSize: r.int('AVATAR_THUMBNAIL_SIZE', 200, { min: 16, max: 4096 }),
      quality: r.int('IMAGE_QUALITY', 85, { min: 1, max: 100 }),
    },
    profiles: {
      maxDisplayNameLength: r.int('MAX_DISPLAY_NAME_LENGTH', 100, { min: 1, max: 1000 }),
      maxBioLength: r.int('MAX_BIO_LENGTH', 500, { min: 1, max: 10_000 }),
      cacheTtlSeconds: r.int('PROFILE_CACHE_TTL', 300, { min: 0 }),
      defaultVisibility: visibility,
      defaultShowEmail: r.bool('DEFAULT_SHOW_EMAIL', false),
      defaultShowActivity: r.bool('DEFAULT_SHOW_ACTIVITY', true),
    },
    files: {
      maxFileSizeMb: r.int('MAX_FILE_SIZE', 100, { min: 1, max: 100_000 }),
      allowedTypes: r.list('ALLOWED_FILE_TYPES', ['image/*', 'application/pdf', 'text/*']),
      userQuotaMb: r.int('USER_STORAGE_QUOTA_MB', 1024, { min: 1 }),
    },
    mail: {
      from: r.str('EMAIL_FROM', 'Tessera <no-reply@localhost>'),
      smtp: smtpHost
        ? {
            host: smtpHost,
            port: smtpPort,
            user: r.optional('SMTP_USER'),
            password: r.optional('SMTP_PASSWORD'),
            secure: r.bool('SMTP_SECURE', smtpPort === 465),
          }
        : null,
    },
    realtime: { maxConnectionsPerUser: r.int('WS_MAX_CONNECTIONS_PER_USER', 10, { min: 1 }) },
    sentryDsn: r.url('SENTRY_DSN', null, ['http:', 'https:']),
  };

  const allowEmbeddedInProduction = r.bool('ALLOW_EMBEDDED_IN_PRODUCTION', false);
  // Read for .env.example completeness even when SMTP is off.
  r.raw('SMTP_USER');
  r.raw('SMTP_PASSWORD');
  r.raw('SMTP_SECURE');

  checkCrossField(r, config, { allowEmbeddedInProduction });
  if (r.problems.length) throw new ConfigError(r.problems);
  return { config: deepFreeze(config), names: r.names };
}

function checkCrossField(
  r: EnvReader,
  c: Config,
  extra: { allowEmbeddedInProduction: boolean },
): void {
  const prod = c.environment === 'production';
  const secretBytes = c.auth.secret ? Buffer.byteLength(c.auth.secret) : 0;
  if (prod && secretBytes === 0) r.problem('JWT_SECRET_KEY', 'is required in production (or SECRET_KEY), at least 32 bytes');
  else if (prod && secretBytes < 32) r.problem('JWT_SECRET_KEY', `is too short: ${secretBytes} bytes, at least 32 needed in production`);
  if (c.auth.algorithm === 'HS256' && secretBytes === 0) r.problem('JWT_SECRET_KEY', 'is required when JWT_ALGORITHM=HS256');
  if (c.auth.algorithm === 'HS256' && secretBytes > 0 && secretBytes < 32) {
    r.problem('JWT_SECRET_KEY', `is too short for HS256: ${secretBytes} bytes, at least 32 needed`);
  }
  if (c.server.allowedOrigins.includes('*') && c.server.allowCredentials && prod) {
    r.problem('ALLOWED_ORIGINS', 'a wildcard (*) origin cannot be combined with credentials in production');
  }
  for (const o of c.server.allowedOrigins) {
    if (o === '*') continue;
    try {
      const u = new URL(o);
      if (u.origin !== o.replace(/\/$/, '')) r.problem('ALLOWED_ORIGINS', `"${o}" is not an origin (scheme://host[:port])`);
    } catch {
      r.problem('ALLOWED_ORIGINS', `"${o}" is not an origin (scheme://host[:port])`);
    }
  }
  if (prod && !c.database.url && !extra.allowEmbeddedInProduction) {
    r.problem('DATABASE_URL', 'is required in production (or set ALLOW_EMBEDDED_IN_PRODUCTION=true to keep the embedded database)');
  }
  if (c.password.minLength > c.password.maxLength) {
    r.problem('PASSWORD_MIN_LENGTH', `(${c.password.minLength}) is greater than PASSWORD_MAX_LENGTH (${c.password.maxLength})`);
  }
  if (c.storage.provider === 's3' && !c.storage.s3.bucket) r.problem('AWS_S3_BUCKET', 'is required when STORAGE_PROVIDER=s3 (or AWS_BUCKET_NAME)');
  if (c.storage.provider === 'cloudinary' && !c.storage.cloudinaryUrl) r.problem('CLOUDINARY_URL', 'is required when STORAGE_PROVIDER=cloudinary');
  for (const f of c.avatars.formats) {
    if (!['jpeg', 'jpg', 'png', 'webp'].includes(f)) r.problem('AVATAR_FORMATS', `"${f}" is not one of jpeg, png, webp`);
  }
  for (const t of c.files.allowedTypes) {
    if (!/^[a-z0-9!#$&^_.+-]+\/(\*|[a-z0-9!#$&^_.+-]+)$/i.test(t) && t !== '*/*') {
      r.problem('ALLOWED_FILE_TYPES', `"${t}" is not a media type or type/* pattern`);
    }
  }
  if (!c.metrics.path.startsWith('/')) r.problem('METRICS_PATH', 'must start with /');
  if (c.server.docsUrl !== null && !c.server.docsUrl.startsWith('/')) r.problem('DOCS_URL', 'must start with / (or be "off")');
  if (prod && c.metrics.token !== null && Buffer.byteLength(c.metrics.token) < 16) {
    r.problem('METRICS_TOKEN', 'is too short: at least 16 bytes in production');
  }
}

function readTrustProxy(r: EnvReader): TrustProxy {
  const v = r.raw('TRUST_PROXY');
  if (v === undefined || ['false', '0', 'no', 'off'].includes(v.toLowerCase())) return false;
  if (v.toLowerCase() === 'true') return true;
  if (/^\d+$/.test(v)) return Number(v);
  const list = v.split(',').map((x) => x.trim()).filter(Boolean);
  for (const item of list) {
    if (!isCidr(item) && !['loopback', 'linklocal', 'uniquelocal'].includes(item)) {
      r.problem('TRUST_PROXY', `"${item}" is not an address, CIDR range, hop count, loopback, linklocal or uniquelocal`);
    }
  }
  return list;
}

function isCidr(value: string): boolean {
  try {
    if (value.includes('/')) ipaddr.parseCIDR(value);
    else ipaddr.parse(value);
    return true;
  } catch {
    return false;
  }
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
