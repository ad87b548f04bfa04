import { AppError } from '../../errors/app-error.js';

// Errors that mean "the store cannot be reached right now", whatever the client library.
const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

const TIMEOUT_ERROR_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);

/** A refused or dropped connection, a DNS failure or a timeout, here or in a cause. */
export function isNetworkError(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 4) return false;
  const { code, name, errors, cause } = err as { code?: unknown; name?: unknown; errors?: unknown; cause?: unknown };
  if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return true;
  if (typeof name === 'string' && TIMEOUT_ERROR_NAMES.has(name)) return true;
  if (Array.isArray(errors) && errors.some((e) => isNetworkError(e, depth + 1))) return true;
  return isNetworkError(cause, depth + 1);
}

export function storageUnavailable(cause: unknown): AppError {
  return new AppError('storage_unavailable', { cause });
}
