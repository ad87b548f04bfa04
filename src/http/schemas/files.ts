import { Type } from 'typebox';
import { NullableString } from './common.js';

export const FileSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    name: Type.String({ description: 'sanitised: NFC, no path separators or control characters, at most 255 UTF-8 bytes' }),
    size: Type.Integer({ minimum: 0, description: 'bytes' }),
    content_type: Type.String({ description: 'decided from the content, never from the name' }),
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'hex SHA-256 of the content; the ETag of /content' }),
    created_at: Type.String({ format: 'date-time' }),
    updated_at: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);

export const FileIdParams = Type.Object({ id: Type.String() });

export const FilesListQuery = Type.Object(
  {
    sort: Type.Optional(Type.Union([Type.Literal('created_at'), Type.Literal('size'), Type.Literal('name')], { default: 'created_at' })),
    order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')], { description: 'default: newest, largest first; names A to Z' })),
    cursor: Type.Optional(Type.String({ maxLength: 1024 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
  },
  { additionalProperties: false },
);

export const FilesPageResponse = Type.Object({ items: Type.Array(FileSchema), next_cursor: NullableString() });

export const RenameFileBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: 1024 }) }, { additionalProperties: false });

export const UsageResponse = Type.Object({
  used_bytes: Type.Integer({ minimum: 0 }),
  quota_bytes: Type.Integer({ minimum: 0, description: 'USER_STORAGE_QUOTA_MB in bytes' }),
  count: Type.Integer({ minimum: 0 }),
});

export const DuplicatesQuery = Type.Object(
  {
    cursor: Type.Optional(Type.String({ maxLength: 1024 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  },
  { additionalProperties: false },
);

export const DuplicatesResponse = Type.Object({
  items: Type.Array(
    Type.Object({
      sha256: Type.String(),
      size: Type.Integer({ minimum: 0, description: 'bytes of one copy' }),
      copies: Type.Integer({ minimum: 2 }),
      reclaimable_bytes: Type.Integer({ minimum: 0, description: 'freed by deleting every copy but one' }),
      files: Type.Array(FileSchema, { description: 'oldest first' }),
    }),
  ),
  next_cursor: NullableString(),
  group_count: Type.Integer({ minimum: 0, description: 'groups in the whole report' }),
  reclaimable_bytes: Type.Integer({ minimum: 0, description: 'freed by deleting every copy but one, in every group' }),
});
