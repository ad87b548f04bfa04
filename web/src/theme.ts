import type { Theme } from './api/types';

/**
 * The theme preference, applied to <html data-theme>. "system" removes the attribute so the
 * stylesheet's prefers-color-scheme rules decide. The last choice is remembered on this device
 * (a display setting, not a secret) so a reload does not flash the other theme.
 */
const KEY = 'tessera.theme';

export function applyTheme(theme: Theme, remember = true): void {
  const root = document.documentElement;
  if (theme === 'system') root.removeAttribute('data-theme');
  else root.setAttribute('data-theme', theme);
  if (!remember) return;
  try {
    localStorage.setItem(KEY, theme);
  } catch {
    // storage disabled: the theme still applies for this page
  }
}

export function applyRememberedTheme(): void {
  try {
    const t = localStorage.getItem(KEY);
    if (t === 'light' || t === 'dark' || t === 'system') applyTheme(t, false);
  } catch {
    // storage disabled
  }
}
