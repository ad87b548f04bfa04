import type { FastifyInstance } from 'fastify';
import type { Static } from 'typebox';
import type { Container } from '../../container.js';
import { AppError } from '../../errors/app-error.js';
import { requestContext } from '../request-context.js';
import { AcceptedResponse, ChangePasswordBody, ForgotPasswordBody, ResendBody, ResetPasswordBody, UserResponse, VerifyEmailBody } from '../schemas/auth.js';

const tags = ['auth'];
const noContent = { 204: { type: 'null' } };
const ACCEPTED = { status: 'accepted' as const, detail: 'If the address has an account, an e-mail is on its way' };

/** Password change, forgot/reset, e-mail verification and resend. */
export function accountRoutes(app: FastifyInstance, container: Container): void {
  const { accounts } = container.auth;

  app.post<{ Body: Static<typeof ChangePasswordBody> }>(
    '/auth/password/change',
    { schema: { tags, security: [{ bearerAuth: [] }], body: ChangePasswordBody, response: noContent }, onRequest: [app.authenticate], config: { rateLimit: ['login'] } },
    async (request, reply) => {
      await accounts.changePassword(request.auth!, request.body.current_password, request.body.new_password, requestContext(request));
      return reply.code(204).send();
    },
  );

  app.post<{ Body: Static<typeof ForgotPasswordBody> }>(
    '/auth/password/forgot',
    { schema: { tags, body: ForgotPasswordBody, response: { 202: AcceptedResponse } }, config: { rateLimit: ['login'] } },
    async (request, reply) => {
      await accounts.forgotPassword(request.body.email, requestContext(request));
      return reply.code(202).send(ACCEPTED);
    },
  );

  app.post<{ Body: Static<typeof ResetPasswordBody> }>(
    '/auth/password/reset',
    { schema: { tags, body: ResetPasswordBody, response: noContent }, config: { rateLimit: ['login'] } },
    async (request, reply) => {
      await accounts.resetPassword(request.body.token, request.body.new_password, requestContext(request));
      return reply.code(204).send();
    },
  );

  app.post<{ Body: Static<typeof VerifyEmailBody> }>(
    '/auth/email/verify',
    { schema: { tags, body: VerifyEmailBody, response: { 200: UserResponse } }, config: { rateLimit: ['login'] } },
    async (request) => ({ user: await accounts.verifyEmail(request.body.token, requestContext(request)) }),
  );

  // Signed in: for yourself. Not signed in (sign-in waits for verification): `{email}`, answered alike for any address.
  app.post<{ Body: Static<typeof ResendBody> | undefined }>(
    '/auth/email/resend',
    // No body (signed in) or {email}; unknown keys and wrong types are 422 like everywhere else.
    { schema: { tags, body: ResendBody, response: { 202: AcceptedResponse } }, onRequest: [app.authenticateOptional], config: { rateLimit: ['login'] } },
    async (request, reply) => {
      if (request.auth) {
        await accounts.resendVerification({ principal: request.auth });
        return reply.code(202).send({ status: 'accepted', detail: 'A new verification e-mail is on its way' });
      }
      const email = request.body?.email;
      if (email === undefined) {
        throw new AppError('validation_failed', { errors: [{ field: 'email', message: 'is required when not signed in' }] });
      }
      await accounts.resendVerification({ email });
      return reply.code(202).send(ACCEPTED);
    },
  );
}
