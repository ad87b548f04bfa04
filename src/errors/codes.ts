/**
 * Every error code Tessera answers with: its HTTP status and title, in one table.
 * Codes are stable snake_case; clients may switch on them.
 */
export const ERROR_CODES = {
  // generic HTTP
  bad_request: { status: 400, title: 'Bad request' },
  malformed_json: { status: 400, title: 'The request body is not valid JSON' },
  host_not_allowed: { status: 400, title: 'The Host header is not allowed' },
  unauthorized: { status: 401, title: 'Authentication required' },
  invalid_token: { status: 401, title: 'The access token is invalid or expired' },
  forbidden: { status: 403, title: 'Forbidden' },
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  not_acceptable: { status: 406, title: 'Not acceptable' },
  conflict: { status: 409, title: 'Conflict' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  range_not_satisfiable: { status: 416, title: 'Range not satisfiable' },
  validation_failed: { status: 422, title: 'The request did not pass validation' },
  rate_limited: { status: 429, title: 'Too many requests' },
  headers_too_large: { status: 431, title: 'Request header fields too large' },
  internal_error: { status: 500, title: 'Internal server error' },
  service_unavailable: { status: 503, title: 'A dependency is unavailable; try again shortly' },
  database_unavailable: { status: 503, title: 'The database is unavailable; try again shortly' },
  kv_unavailable: { status: 503, title: 'The key-value store is unavailable; try again shortly' },
  storage_unavailable: { status: 503, title: 'The object store is unavailable; try again shortly' },
  request_timeout: { status: 408, title: 'The request took too long to arrive' },
  metrics_forbidden: { status: 403, title: 'Metrics are not available to this client' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;
