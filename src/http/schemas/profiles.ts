import { Type } from 'typebox';
import { NullableString } from './common.js';

/** A profile as one viewer may see it: members that privacy hides are absent. */
export const ProfileSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    display_name: NullableString(),
    bio: NullableString(),
    avatar_url: NullableString(),
    avatar_thumbnail_url: NullableString(),
    created_at: Type.String({ format: 'date-time' }),
    email: Type.Optional(Type.String({ description: 'only when the owner shows it (privacy.show_email), to the owner and admins' })),
    last_login_at: Type.Optional(NullableString({ format: 'date-time', description: 'only with privacy.show_activity' })),
    last_active_at: Type.Optional(NullableString({ format: 'date-time', description: 'only with privacy.show_activity' })),
  },
  { description: 'Display name and bio are plain text: HTML, control and bidi-override characters are neutralised when stored' },
);

/**
 * Lengths are checked by the service after neutralising, in characters (MAX_DISPLAY_NAME_LENGTH,
 * MAX_BIO_LENGTH); the body limit bounds what arrives.
 */
export const ProfilePatchBody = Type.Object(
  {
    display_name: Type.Optional(Type.Union([Type.String(), Type.Null()], { description: 'null clears it' })),
    bio: Type.Optional(Type.Union([Type.String(), Type.Null()], { description: 'null clears it' })),
  },
  { additionalProperties: false },
);

/** Any text: an id that is not a UUID gets the 404 of a missing user (the router bounds its length). */
export const UserIdParams = Type.Object({ id: Type.String() });

export const ProfileSearchQuery = Type.Object(
  {
    q: Type.Optional(Type.String({ maxLength: 100, description: 'display-name prefix, case-insensitive' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ maxLength: 1024, description: 'next_cursor of the previous page' })),
  },
  { additionalProperties: false },
);

export const ProfilePage = Type.Object({ items: Type.Array(ProfileSchema), next_cursor: NullableString() });

const Theme = Type.Union([Type.Literal('light'), Type.Literal('dark'), Type.Literal('system')]);
const Visibility = Type.Union([Type.Literal('public'), Type.Literal('users'), Type.Literal('private')]);
const Language = Type.String({ minLength: 1, maxLength: 35, description: 'a BCP 47 language tag, e.g. "en" or "pt-BR"' });

const notificationFields = {
  email: Type.Boolean(),
  push: Type.Boolean(),
  task_reminders: Type.Boolean(),
  task_assignments: Type.Boolean(),
};
const privacyFields = {
  profile_visibility: Visibility,
  show_email: Type.Boolean(),
  show_activity: Type.Boolean(),
};

export const PreferencesSchema = Type.Object({
  theme: Theme,
  language: Type.String(),
  notifications: Type.Object(notificationFields),
  privacy: Type.Object(privacyFields),
});

/** PATCH merges: every member optional, nested objects merge member by member; unknown keys are a 422. */
export const PreferencesPatchBody = Type.Object(
  {
    theme: Type.Optional(Theme),
    language: Type.Optional(Language),
    notifications: Type.Optional(Type.Partial(Type.Object(notificationFields), { additionalProperties: false })),
    privacy: Type.Optional(Type.Partial(Type.Object(privacyFields), { additionalProperties: false })),
  },
  { additionalProperties: false },
);

export const AvatarResponse = Type.Object({ avatar_url: Type.String(), avatar_thumbnail_url: Type.String() });
