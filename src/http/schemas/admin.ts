import { Type } from 'typebox';
import { NullableString, StringEnum } from './common.js';

export const AdminUserSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.String(),
  email_verified: Type.Boolean(),
  display_name: NullableString(),
  role: StringEnum(['user', 'admin']),
  created_at: Type.String({ format: 'date-time' }),
  locked: Type.Boolean(),
  locked_until: NullableString({ format: 'date-time' }),
  last_login_at: NullableString({ format: 'date-time' }),
  last_active_at: NullableString({ format: 'date-time' }),
});

export const AdminUsersQuery = Type.Object(
  {
    q: Type.Optional(Type.String({ maxLength: 200 })),
    cursor: Type.Optional(Type.String({ maxLength: 1024 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
  },
  { additionalProperties: false },
);

export const AdminUsersResponse = Type.Object({ items: Type.Array(AdminUserSchema), next_cursor: NullableString() });
export const AdminUserResponse = Type.Object({ user: AdminUserSchema });
// `minutes` absent (or no body): locked until unlocked. Bounded so the end stays a storable date.
export const LockUserBody = Type.Union([
  Type.Object({ minutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 * 525_600, description: 'at most a century' })) }, { additionalProperties: false }),
  Type.Null(),
]);
export const UserIdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

const ClientFields = {
  client_id: Type.String(),
  name: Type.String(),
  scopes: Type.Array(Type.String()),
  created_at: Type.String({ format: 'date-time' }),
};
export const ClientSchema = Type.Object(ClientFields);
export const CreatedClientSchema = Type.Object({ ...ClientFields, client_secret: Type.String({ description: 'shown only in this response' }) });
export const ClientsResponse = Type.Object({ items: Type.Array(ClientSchema), next_cursor: Type.Null() });
export const CreateClientBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 100 }), scopes: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 50 }) },
  { additionalProperties: false },
);
export const ClientIdParams = Type.Object({ client_id: Type.String({ maxLength: 200 }) });
