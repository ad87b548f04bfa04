import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';
import type { Config } from './config/index.js';

/** Never logged, wherever they appear: credentials, cookies, tokens and passwords. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.password',
  '*.current_password',
  '*.new_password',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.client_secret',
  '*.secret',
  '*.ticket',
];

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
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: 'tessera', env: config.environment, version: config.version },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  if (destination) return pino(options, destination);
  if (config.logging.format === 'pretty' && prettyAvailable()) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service,env,version' } } });
  }
  return pino(options);
}
