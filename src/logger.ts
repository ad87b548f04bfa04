import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';
import type { Config } from './config/index.js';

/** Never logged: credentials and cookies in headers (pino's redaction, paths from the root). */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
];

/** Never logged either: these fields of any object logged (`log.info({ body })`: body.password). */
export const SECRET_FIELDS: readonly string[] = ['password', 'current_password', 'new_password', 'token', 'access_token', 'refresh_token', 'client_secret', 'secret', 'ticket'];
const CENSOR = '[redacted]';

const isPlainObject = (v: object) => {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};

/**
 * The secret fields of each object (or error) in a line's merge object, censored in copies;
 * the caller's objects are never changed. Objects without one are passed through as they are.
 *
 * This was `*.password`-style wildcard paths in pino's `redact`. pino 10 (`@pinojs/redact`)
 * runs a wildcard redaction over every field of every line, primitives and the message
 * included, parsing each path each time: ~1 µs per field, which made one access-log line cost
 * as much as the request it described. This does the same one-level check with a key lookup.
 */
export function redactSecretFields(obj: Record<string, unknown>): Record<string, unknown> {
  let out = obj;
  for (const key in obj) {
    const value = obj[key];
    if (value === null || typeof value !== 'object' || Array.isArray(value)) continue;
    const error = value instanceof Error;
    if (!error && !isPlainObject(value)) continue;
    let copy: Record<string, unknown> | undefined;
    for (const field of SECRET_FIELDS) {
      if (!Object.prototype.hasOwnProperty.call(value, field)) continue;
      copy ??= error ? (pino.stdSerializers.err(value as Error) as unknown as Record<string, unknown>) : { ...(value as Record<string, unknown>) };
      copy[field] = CENSOR;
    }
    if (copy) {
      if (out === obj) out = { ...obj };
      out[key] = copy;
    }
  }
  return out;
}

/** What every Tessera logger redacts, and how it logs a request (also the tests' loggers). */
export const LOG_REDACTION = {
  redact: { paths: REDACT_PATHS, censor: CENSOR },
  // Fastify's `req` serializer logs the URL as it came: this one redacts credentials in the query.
  serializers: { req: requestSummary },
  formatters: { log: redactSecretFields },
} satisfies pino.LoggerOptions;

// Query parameters whose values are credentials: a ticket, an e-mail link's token, an OAuth
// code. Their values never reach a log line; the names stay, so the line still says what came.
const SECRET_PARAM = /([?&][^=&#]*(?:token|ticket|secret|password|code|key|signature)[^=&#]*=)[^&#]*/gi;

/** A request's URL as logged: the query's credential values replaced by `[redacted]`. */
export function loggableUrl(url: string): string {
  return url.includes('?') ? url.replace(SECRET_PARAM, '$1[redacted]') : url;
}

/**
 * The request as it appears in log lines (`req`): method, URL (credentials redacted) and client
 * address. Replaces Fastify's serializer, which logs the URL as it came, query and all.
 */
export function requestSummary(req: { method?: string; url?: string; ip?: string; socket?: { remoteAddress?: string } | null }) {
  return { method: req.method, url: req.url === undefined ? undefined : loggableUrl(req.url), remoteAddress: req.ip ?? req.socket?.remoteAddress };
}

/** pino-pretty is a development tool; an install without dev dependencies logs JSON instead. */
function prettyAvailable(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

export function createLogger(config: Pick<Config, 'logging' | 'environment' | 'version'>, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level: config.logging.level,
    ...LOG_REDACTION,
    base: { service: 'tessera', env: config.environment, version: config.version },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { ...LOG_REDACTION.formatters, level: (label) => ({ level: label }) },
  };
  if (destination) return pino(options, destination);
  if (config.logging.format === 'pretty' && prettyAvailable()) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service,env,version' } } });
  }
  return pino(options, turnBufferedLog(1));
}

/**
 * A log destination written once per turn of the event loop: the lines logged in one turn (under
 * load, an access line for each request answered in it) go out in one write at the turn's end
 * (`setImmediate`), as answers do (write-batching.ts), instead of one write each. A line waits
 * at most for the rest of its turn; whatever is left when the process exits (`process.exit`
 * included) is written then. Only a process killed outright in the middle of a turn loses
 * that turn's lines.
 *
 * The writes are synchronous (sonic-boom), as Node's own stdout is on Linux for pipes and
 * files: a reader of stdout that stops reading holds the process up, as it would hold up
 * `console.log`, instead of the lines piling up in memory. pino's default, asynchronous writes
 * on libuv's pool, cost more: handing each turn's lines to the pool measured −17 % req/s
 * against this on `/health` at `info` (bench/ab.ts), pino's per-line default −7 %.
 */
export function turnBufferedLog(fd: number): pino.DestinationStream & { flush(cb?: (err?: Error) => void): void } {
  // Lines are written when the turn ends, or as soon as 64 KB are waiting.
  const out = pino.destination({ dest: fd, sync: true, minLength: 64 * 1024, maxWrite: 1024 * 1024 });
  let pending = false;
  const flush = () => {
    if (!pending) return;
    pending = false;
    out.flush();
  };
  process.on('exit', flush);
  return {
    write(line: string) {
      out.write(line);
      if (!pending) {
        pending = true;
        setImmediate(flush);
      }
    },
    flush(cb) {
      flush();
      cb?.();
    },
  };
}

type LogMethod = (...args: unknown[]) => void;
type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/**
 * A request's logger, made real only when something logs at an enabled level. Fastify builds a
 * pino child per request (binding its id, redaction included); most requests log nothing above
 * the configured level, so that work was pure overhead on every request.
 */
class LazyRequestLogger {
  #child: Logger | undefined;

  constructor(
    private readonly parent: Logger,
    private readonly childBindings: pino.Bindings,
    private readonly childOptions: pino.ChildLoggerOptions,
  ) {}

  // Methods on the prototype: a request that logs nothing allocates nothing but this object.
  fatal(...args: unknown[]): void {
    this.write('fatal', args);
  }

  error(...args: unknown[]): void {
    this.write('error', args);
  }

  warn(...args: unknown[]): void {
    this.write('warn', args);
  }

  info(...args: unknown[]): void {
    this.write('info', args);
  }

  debug(...args: unknown[]): void {
    this.write('debug', args);
  }

  trace(...args: unknown[]): void {
    this.write('trace', args);
  }

  private write(level: Level, args: unknown[]): void {
    if (this.#child ? this.#child.isLevelEnabled(level) : this.parent.isLevelEnabled(level)) (this.real[level] as LogMethod)(...args);
  }

  private get real(): Logger {
    this.#child ??= this.parent.child(this.childBindings, this.childOptions);
    return this.#child;
  }

  get level(): string {
    return this.#child?.level ?? this.parent.level;
  }

  set level(level: string) {
    this.real.level = level;
  }

  isLevelEnabled(level: string): boolean {
    return this.#child ? this.#child.isLevelEnabled(level) : this.parent.isLevelEnabled(level);
  }

  child(bindings: pino.Bindings, options?: pino.ChildLoggerOptions): Logger {
    return this.real.child(bindings, options);
  }

  bindings(): pino.Bindings {
    return this.real.bindings();
  }
}

export function lazyChildLogger(parent: Logger, bindings: pino.Bindings, options: pino.ChildLoggerOptions): Logger {
  return new LazyRequestLogger(parent, bindings, options) as unknown as Logger;
}
