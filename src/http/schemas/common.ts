import { Type } from 'typebox';

/**
 * `string | null` as a JSON Schema type array (`["string", "null"]`, OpenAPI 3.1), not an
 * `anyOf`: fast-json-stringify serialises it with a typeof check, where an `anyOf` costs a
 * validator call per branch on every response (a `date-time` format check included).
 */
export function NullableString(options: { format?: string; description?: string } = {}) {
  return Type.Unsafe<string | null>({ type: ['string', 'null'], ...options });
}

/** One of a few strings, as `enum` (one check) rather than an `anyOf` of literals. */
export function StringEnum<const T extends string>(values: readonly T[], options: { description?: string; default?: T } = {}) {
  return Type.Unsafe<T>({ type: 'string', enum: [...values], ...options });
}

/** RFC 9457 problem document, as every error is answered. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    code: Type.String(),
    request_id: Type.String(),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
  },
  { $id: 'Problem', additionalProperties: true },
);
