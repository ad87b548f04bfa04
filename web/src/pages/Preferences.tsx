import { useEffect, useState } from 'react';
import { api } from '../api/client';
import type { Preferences as Prefs, Theme, Visibility } from '../api/types';
import { Alert } from '../components/Alert';
import { FormError, messageOf, SubmitButton, useFormAction } from '../components/Form';
import { AlertIcon } from '../components/Icons';
import { Loading, Page } from '../components/Page';
import { Link } from '../router';
import { useSession } from '../session';
import { applyTheme } from '../theme';

const LABELS: Record<string, string> = {
  theme: 'Theme',
  language: 'Language',
  'notifications.email': 'E-mail notifications',
  'notifications.push': 'Push notifications',
  'notifications.task_reminders': 'Task reminders',
  'notifications.task_assignments': 'Task assignments',
  'privacy.profile_visibility': 'Who can see your profile',
  'privacy.show_email': 'Show my e-mail address',
  'privacy.show_activity': 'Show when I was last active',
};

const THEMES: { value: Theme; label: string }[] = [
  { value: 'system', label: 'Same as this device' },
  { value: 'light', label: 'Light' },
  { value: 'dark', label: 'Dark' },
];

const VISIBILITY: { value: Visibility; label: string; hint: string }[] = [
  { value: 'public', label: 'Everyone', hint: 'Anyone with the link, even without an account.' },
  { value: 'users', label: 'Signed-in users', hint: 'People with an account here.' },
  { value: 'private', label: 'Only me', hint: 'Nobody else (administrators excepted).' },
];

const LANGUAGES: [string, string][] = [
  ['en', 'English'],
  ['en-GB', 'English (United Kingdom)'],
  ['de', 'Deutsch'],
  ['es', 'Español'],
  ['fr', 'Français'],
  ['it', 'Italiano'],
  ['nl', 'Nederlands'],
  ['pl', 'Polski'],
  ['pt-BR', 'Português (Brasil)'],
  ['sv', 'Svenska'],
  ['uk', 'Українська'],
  ['ja', '日本語'],
  ['zh-CN', '中文 (简体)'],
];

const THEME_SAVED = 'Theme saved.';
const NOTIFICATIONS: (keyof Prefs['notifications'])[] = ['email', 'push', 'task_reminders', 'task_assignments'];

function FieldMessage({ message, id }: { message: string | undefined; id: string }) {
  if (!message) return null;
  return (
    <p className="field-error" id={id}>
      <AlertIcon />
      <span>{message}</span>
    </p>
  );
}

export default function Preferences() {
  const session = useSession();
  const userId = session.status === 'signed-in' ? session.user.id : '';
  const [prefs, setPrefs] = useState<Prefs | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const { busy, errors, formRef, onSubmit, run } = useFormAction(LABELS);

  useEffect(() => {
    api<Prefs>('/users/me/preferences')
      .then(setPrefs)
      .catch((err: unknown) => setLoadError(messageOf(err)));
  }, []);

  // The theme applies and is saved at once; the rest waits for "Save".
  const chooseTheme = (theme: Theme) => {
    if (!prefs) return;
    applyTheme(theme);
    setSaved(null);
    setPrefs({ ...prefs, theme });
    void run(async () => {
      await api<Prefs>('/users/me/preferences', { method: 'PATCH', body: { theme } });
      setSaved(THEME_SAVED);
    });
  };

  const submit = onSubmit(async () => {
    if (!prefs) return;
    setSaved(null);
    const next = await api<Prefs>('/users/me/preferences', {
      method: 'PATCH',
      body: { language: prefs.language, notifications: prefs.notifications, privacy: prefs.privacy },
    });
    setPrefs(next);
    setSaved('Your preferences are saved.');
  });

  if (loadError) {
    return (
      <Page title="Preferences">
        <Alert kind="error">
          <p>{loadError}</p>
        </Alert>
      </Page>
    );
  }
  if (!prefs) return <Loading label="Loading your preferences…" />;

  const update = (patch: Partial<Prefs>) => {
    setSaved(null);
    setPrefs({ ...prefs, ...patch });
  };
  const languages = LANGUAGES.some(([tag]) => tag === prefs.language) ? LANGUAGES : [[prefs.language, prefs.language] as [string, string], ...LANGUAGES];
  const err = (name: string) => errors.fields[name];

  return (
    <Page title="Preferences">
      <form ref={formRef} onSubmit={submit} noValidate>
        <FormError message={errors.form} />

        <section className="card" aria-labelledby="appearance-heading">
          <h2 id="appearance-heading">Appearance and language</h2>
          <fieldset aria-describedby={err('theme') ? 'theme-error' : undefined}>
            <legend>{LABELS.theme}</legend>
            {THEMES.map((t) => (
              <label className="choice" key={t.value}>
                <input type="radio" name="theme" value={t.value} checked={prefs.theme === t.value} onChange={() => chooseTheme(t.value)} />
                {t.label}
              </label>
            ))}
            <FieldMessage id="theme-error" message={err('theme')} />
          </fieldset>
          {saved === THEME_SAVED && (
            <Alert kind="ok">
              <p>{saved}</p>
            </Alert>
          )}
          <div className="field">
            <label htmlFor="language">{LABELS.language}</label>
            <select id="language" name="language" value={prefs.language} onChange={(e) => update({ language: e.target.value })} aria-invalid={err('language') ? true : undefined} aria-describedby={err('language') ? 'language-error' : undefined}>
              {languages.map(([tag, name]) => (
                <option key={tag} value={tag} lang={tag}>
                  {name}
                </option>
              ))}
            </select>
            <FieldMessage id="language-error" message={err('language')} />
          </div>
        </section>

        <section className="card" aria-labelledby="privacy-heading">
          <h2 id="privacy-heading">Privacy</h2>
          <fieldset>
            <legend>{LABELS['privacy.profile_visibility']}</legend>
            {VISIBILITY.map((v) => (
              <label className="choice" key={v.value}>
                <input
                  type="radio"
                  name="privacy.profile_visibility"
                  value={v.value}
                  checked={prefs.privacy.profile_visibility === v.value}
                  onChange={() => update({ privacy: { ...prefs.privacy, profile_visibility: v.value } })}
                />
                <span>
                  {v.label}
                  <span className="hint">{v.hint}</span>
                </span>
              </label>
            ))}
            <FieldMessage id="visibility-error" message={err('privacy.profile_visibility')} />
          </fieldset>
          <label className="choice">
            <input type="checkbox" name="privacy.show_email" checked={prefs.privacy.show_email} onChange={(e) => update({ privacy: { ...prefs.privacy, show_email: e.target.checked } })} />
            {LABELS['privacy.show_email']} on my profile
          </label>
          <label className="choice">
            <input type="checkbox" name="privacy.show_activity" checked={prefs.privacy.show_activity} onChange={(e) => update({ privacy: { ...prefs.privacy, show_activity: e.target.checked } })} />
            {LABELS['privacy.show_activity']}
          </label>
          {userId && (
            <p className="small">
              <Link to={`/u/${userId}`}>See your public page</Link>
            </p>
          )}
        </section>

        <section className="card" aria-labelledby="notifications-heading">
          <h2 id="notifications-heading">Notifications</h2>
          {NOTIFICATIONS.map((n) => (
            <label className="choice" key={n}>
              <input
                type="checkbox"
                name={`notifications.${n}`}
                checked={prefs.notifications[n]}
                onChange={(e) => update({ notifications: { ...prefs.notifications, [n]: e.target.checked } })}
              />
              {LABELS[`notifications.${n}`]}
            </label>
          ))}
        </section>

        {saved && saved !== THEME_SAVED && (
          <Alert kind="ok">
            <p>{saved}</p>
          </Alert>
        )}
        <SubmitButton busy={busy} busyText="Saving…">
          Save preferences
        </SubmitButton>
      </form>
    </Page>
  );
}
