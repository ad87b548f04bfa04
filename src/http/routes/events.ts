import websocket from '@fastify/websocket';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Container } from '../../container.js';
import { AppError } from '../../errors/app-error.js';
import { bearerToken, invalidToken, missingToken } from '../../modules/auth/authenticator.js';
import type { ConnectionSlot } from '../../modules/realtime/connection-slots.js';
import { CLOSE } from '../../modules/realtime/connection.js';
import type { Viewer } from '../../modules/realtime/event-audience.js';
import { ticketInHeaders, unavailableAsAppError } from '../../modules/realtime/tickets.js';
import { originAllowed } from '../plugins/security.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** set by the events route's admission hook: who the socket is for, and its place under the cap */
    realtimeAdmission: { viewer: Viewer; slot: ConnectionSlot } | null;
  }
}

// Clients only ever send a small application ping: anything bigger is closed by ws with 1009.
const MAX_CLIENT_FRAME_BYTES = 4096;

const tags = ['realtime'];
const TicketResponse = Type.Object({ ticket: Type.String(), expires_in: Type.Integer() });
const EventsQuery = Type.Object({ ticket: Type.Optional(Type.String({ maxLength: 128 })) });

/**
 * `POST /events/ticket` and the `GET /events` WebSocket (SPEC "Realtime"). Everything that can
 * refuse a connection runs before the upgrade, so a refused client gets an HTTP status and a
 * problem document: 426 without an upgrade, 403 for a foreign Origin, 400 for a ticket in a
 * header, 401 for a bad ticket or token, 429 over the per-user cap, 503 when the store is away.
 */
export async function eventsRoutes(api: FastifyInstance, container: Container): Promise<void> {
  const { config } = container;
  const { hub, tickets } = container.realtime;
  const { authenticator, accounts } = container.auth;
  const publicOrigin = new URL(config.server.publicUrl).origin;
  await container.realtime.start();

  /** Browsers always send Origin: a page elsewhere must not ride a user's ticket or token in. */
  function originOk(request: FastifyRequest): boolean {
    const origin = request.headers.origin;
    if (origin === undefined) return true; // not a browser
    if (originAllowed(origin, config.server) || origin === publicOrigin) return true;
    try {
      return new URL(origin).host === request.host; // same origin as the page that served the app
    } catch {
      return false;
    }
  }

  async function viewerFromTicket(ticket: unknown): Promise<Viewer> {
    if (typeof ticket !== 'string') throw new AppError('bad_request', { detail: 'Send one ?ticket=' });
    const grant = await tickets.redeem(ticket);
    if (!grant) throw new AppError('ticket_invalid', { headers: { 'www-authenticate': 'Bearer realm="tessera", error="invalid_token"' } });
    if (await unavailableAsAppError(() => hub.isSessionRevoked(grant.sessionId))) throw invalidToken('The session of this ticket has been signed out');
    return { userId: grant.userId, sessionId: grant.sessionId, role: grant.role };
  }

  async function viewerFromToken(header: string | undefined): Promise<Viewer> {
    const token = bearerToken(header);
    if (token === null) throw missingToken();
    const principal = await authenticator.authenticate(token);
    if (principal.kind !== 'user') throw new AppError('forbidden', { detail: 'Events are for users, not service tokens' });
    const user = await accounts.currentUser(principal);
    return { userId: principal.userId, sessionId: principal.sessionId, role: user.role };
  }

  async function admit(request: FastifyRequest): Promise<void> {
    if (!request.ws) throw new AppError('upgrade_required', { headers: { upgrade: 'websocket' } });
    if (!originOk(request)) throw new AppError('origin_not_allowed', { detail: 'Add the origin to ALLOWED_ORIGINS to connect from it' });
    // A ticket in a header may end up in a proxy's log: it is void, and the connection refused.
    const misplaced = ticketInHeaders(request.headers);
    if (misplaced) {
      await tickets.burn(misplaced);
      throw new AppError('ticket_misplaced');
    }
    const { ticket } = request.query as { ticket?: unknown };
    if (ticket !== undefined && request.headers.authorization !== undefined) {
      throw new AppError('bad_request', { detail: 'Send either ?ticket= or an Authorization header, not both' });
    }
    const viewer = ticket !== undefined ? await viewerFromTicket(ticket) : await viewerFromToken(request.headers.authorization);
    request.rateLimitSubject = viewer.userId;

    const slot = await unavailableAsAppError(() => hub.reserveSlot(viewer.userId));
    if (!slot) {
      throw new AppError('too_many_connections', {
        detail: `At most ${config.realtime.maxConnectionsPerUser} connections per user (WS_MAX_CONNECTIONS_PER_USER)`,
      });
    }
    // The slot is freed when the TCP connection goes, whether or not the upgrade went through.
    const raw = request.raw.socket as typeof request.raw.socket | undefined;
    if (raw && !raw.destroyed) raw.once('close', () => hub.releaseSlot(slot));
    else hub.releaseSlot(slot);
    request.realtimeAdmission = { viewer, slot };
  }

  await api.register(async (scope) => {
    await scope.register(websocket, {
      options: { maxPayload: MAX_CLIENT_FRAME_BYTES, perMessageDeflate: false, clientTracking: false },
      // A client that breaks the protocol (an oversized or malformed frame): ws already sent the
      // close frame (1009, 1002…); give the peer a moment to answer it, then cut the connection.
      errorHandler(error, socket, request) {
        request.log.info({ code: (error as { code?: string }).code, message: error.message }, 'websocket closed on a client error');
        setTimeout(() => socket.terminate(), 1000).unref();
      },
      preClose: async () => {
        await hub.closeAll(CLOSE.goingAway, 'server shutting down');
      },
    });
    scope.decorateRequest('realtimeAdmission', null);

    scope.post(
      '/events/ticket',
      {
        schema: {
          tags,
          summary: 'A single-use, 30-second ticket for connecting to GET /events',
          security: [{ bearerAuth: [] }],
          response: { 200: TicketResponse },
        },
        onRequest: [scope.authenticate],
      },
      async (request, reply) => {
        const principal = request.auth!;
        if (principal.kind !== 'user') throw new AppError('forbidden');
        const user = await accounts.currentUser(principal);
        reply.header('cache-control', 'no-store');
        return tickets.issue({ userId: principal.userId, sessionId: principal.sessionId, role: user.role });
      },
    );

    scope.route({
      method: 'GET',
      url: '/events',
      schema: {
        tags,
        summary: 'WebSocket: realtime events as {type, data, at} (with ?ticket= or Authorization: Bearer)',
        querystring: EventsQuery,
      },
      onRequest: admit,
      handler: async () => {
        throw new AppError('upgrade_required', { headers: { upgrade: 'websocket' } });
      },
      wsHandler: (socket, request) => {
        const admission = request.realtimeAdmission!;
        hub.attach(socket, admission.viewer, admission.slot);
      },
    });
  });
}
