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
  uri_too_long: { status: 414, title: 'The URL is too long' },
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
  // auth (issue 4)
  invalid_credentials: { status: 401, title: 'The e-mail address or password is incorrect' },
  invalid_refresh_token: { status: 401, title: 'The refresh token is invalid, expired or revoked' },
  token_reused: { status: 401, title: 'The refresh token was already used; the session has been signed out' },
  email_not_verified: { status: 403, title: 'The e-mail address is not verified yet' },
  account_locked: { status: 423, title: 'The account is locked' },
  current_password_incorrect: { status: 403, title: 'The current password is incorrect' },
  admin_required: { status: 403, title: 'This needs the admin role' },
  email_taken: { status: 409, title: 'An account with this e-mail address already exists' },
  email_already_verified: { status: 409, title: 'The e-mail address is already verified' },
  password_policy: { status: 422, title: 'The password does not meet the password policy' },
  email_link_invalid: { status: 400, title: 'The link is invalid, expired or already used' },
  invalid_scope: { status: 400, title: 'The requested scope is not allowed' },
  session_not_found: { status: 404, title: 'No such session' },
  user_not_found: { status: 404, title: 'No such user' },
  client_not_found: { status: 404, title: 'No such client' },
  csrf_header_required: { status: 403, title: 'Cookie-based calls need the X-Tessera-Client: web header' },
  // realtime (issue 7)
  upgrade_required: { status: 426, title: 'This endpoint is a WebSocket: send an Upgrade request' },
  ticket_invalid: { status: 401, title: 'The WebSocket ticket is invalid, expired or already used' },
  ticket_misplaced: { status: 400, title: 'A WebSocket ticket goes in the ?ticket= query parameter only; this one is now void' },
  origin_not_allowed: { status: 403, title: 'The Origin of this WebSocket request is not allowed' },
  too_many_connections: { status: 429, title: 'Too many open WebSocket connections for this user' },
  // profiles and avatars (issue 5)
  invalid_image: { status: 422, title: 'The file is not an image that can be used' },
  // files (issue 6)
  // 413, not 507: the request is refused for what it carries, and a smaller one may succeed.
  quota_exceeded: { status: 413, title: 'The file would take your storage past its quota' },
  file_type_not_allowed: { status: 415, title: 'This type of file is not allowed' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;
