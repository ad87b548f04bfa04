import { Type } from 'typebox';
import { NullableString, StringEnum } from './common.js';

// Generous ceilings that refuse absurd input before any work (the password policy and e-mail
// checks give the precise messages): nothing longer than 4 KB is ever hashed.
const Email = Type.String({ minLength: 1, maxLength: 320, description: 'compared trimmed, NFC-normalised and lower-cased' });
const Password = Type.String({ minLength: 1, maxLength: 4096 });
const Token = Type.String({ minLength: 1, maxLength: 512 });

export const UserSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    email: Type.String(),
    email_verified: Type.Boolean(),
    display_name: NullableString(),
    role: StringEnum(['user', 'admin']),
    created_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'User' },
);

const UserRef = Type.Ref('User');

export const RegisterBody = Type.Object(
  { email: Email, password: Password, display_name: Type.Optional(Type.Union([Type.String({ maxLength: 1000 }), Type.Null()])) },
  { additionalProperties: false },
);

export const LoginBody = Type.Object({ email: Email, password: Password }, { additionalProperties: false });

const TokenFields = {
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  refresh_token: Type.Optional(Type.String({ description: 'absent for web clients (X-Tessera-Client: web): it is in the tessera_refresh cookie' })),
  scope: Type.String(),
};

export const LoginResponse = Type.Object({ ...TokenFields, user: UserRef, password_expired: Type.Boolean() });
export const RefreshResponse = Type.Object(TokenFields);
export const UserResponse = Type.Object({ user: UserRef });

export const SessionsResponse = Type.Object({
  items: Type.Array(
    Type.Object({
      id: Type.String({ format: 'uuid' }),
      created_at: Type.String({ format: 'date-time' }),
      last_used_at: Type.String({ format: 'date-time' }),
      ip: NullableString(),
      user_agent: NullableString(),
      current: Type.Boolean(),
    }),
  ),
  next_cursor: Type.Null(),
});

export const SessionParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

export const ChangePasswordBody = Type.Object({ current_password: Password, new_password: Password }, { additionalProperties: false });
export const ForgotPasswordBody = Type.Object({ email: Email }, { additionalProperties: false });
export const ResetPasswordBody = Type.Object({ token: Token, new_password: Password }, { additionalProperties: false });
export const VerifyEmailBody = Type.Object({ token: Token }, { additionalProperties: false });
export const ResendBody = Type.Union([Type.Object({ email: Type.Optional(Email) }, { additionalProperties: false }), Type.Null()]);

export const AcceptedResponse = Type.Object({ status: Type.Literal('accepted'), detail: Type.String() });
