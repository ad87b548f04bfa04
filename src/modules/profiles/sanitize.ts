import type { FieldError } from '../../errors/app-error.js';
import { LONE_SURROGATES } from '../../text/characters.js';

/**
 * Display names and bios are stored as safe plain text (SPEC "Profiles"): whatever arrives,
 * what is stored and returned holds no markup, no control characters and no bidi overrides,
 * so it can be put in a page (escaped or, by mistake, not) without changing the page.
 *
 * Neutralising, in order:
 * 1. Unicode NFC; lone surrogates dropped (they cannot be stored as UTF-8).
 * 2. Control characters removed — tabs and line breaks become spaces (a bio keeps its line
 *    breaks); bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069, the
 *    "Trojan Source" characters), zero-width spaces, BOMs and non-characters removed.
 * 3. `<script>` and `<style>` elements removed with their content; every other tag and
 *    comment removed, keeping the text between tags (`<b>Ann</b>` → `Ann`).
 * 4. A `<` or `>` still left (`I <3 cats`) becomes its full-width look-alike (＜ ＞), which no
 *    browser reads as markup.
 * 5. Runs of more than 8 combining marks cut to 8 ("zalgo" text that paints over its neighbours).
 * 6. Whitespace collapsed and trimmed.
 *
 * `&` and quotes are kept: "AT&T" and "O'Brien" are names, and neither can open a tag.
 * Lengths are counted in Unicode code points (characters, not bytes or UTF-16 units).
 */

// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL_EXCEPT_BREAKS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;
const INVISIBLE_FORMATTING = /[\u202a-\u202e\u2066-\u2069\u200b\ufeff\ufff9-\ufffb\ufdd0-\ufdef\ufffe\uffff]/g;
const SCRIPT_OR_STYLE = /<(script|style)\b[^>]*>[\s\S]*?<\/\1\s*>/gi;
const COMMENT = /<!--[\s\S]*?(?:-->|$)/g;
const TAG = /<\/?[A-Za-z!?][^<>]*>/g;
const ZALGO = /(\p{M}{8})\p{M}+/gu;

/** Before any regular expression runs: inputs longer than this many times the limit are refused outright. */
export const RAW_LENGTH_FACTOR = 10;

export function characterCount(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

function neutraliseMarkupAndControls(input: string, multiline: boolean): string {
  let text = input.normalize('NFC').replace(LONE_SURROGATES, '');
  text = text.replace(/\r\n?|[\u2028\u2029\u0085]/g, '\n');
  text = text.replace(CONTROL_EXCEPT_BREAKS, '').replace(INVISIBLE_FORMATTING, '');
  text = multiline ? text.replace(/\t/g, ' ') : text.replace(/[\t\n]/g, ' ');
  text = text.replace(SCRIPT_OR_STYLE, '').replace(COMMENT, '').replace(TAG, '');
  text = text.replace(/</g, '\uff1c').replace(/>/g, '\uff1e');
  return text.replace(ZALGO, '$1');
}

/** A display name as stored: one line of plain text, or null when nothing visible is left. */
export function neutraliseDisplayName(input: string): string | null {
  const text = neutraliseMarkupAndControls(input, false).replace(/\s+/gu, ' ').trim();
  return text === '' ? null : text;
}

/** A bio as stored: plain text with line breaks (at most one blank line in a row), or null. */
export function neutraliseBio(input: string): string | null {
  const text = neutraliseMarkupAndControls(input, true)
    .split('\n')
    .map((line) => line.replace(/[^\S\n]+/gu, ' ').trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return text === '' ? null : text;
}

/**
 * A text field from outside, as stored: neutralised with `neutralise`, then held to `max`
 * characters; the length error goes into `errors`. `null` stays null (it clears the field).
 */
export function checkedText(field: string, value: string | null, max: number, neutralise: (s: string) => string | null, errors: FieldError[]): string | null {
  if (value === null) return null;
  const tooLong = { field, message: `must be at most ${max} characters` };
  // Refused before any pattern runs over it: no honest value is ten times the limit.
  if (value.length > max * RAW_LENGTH_FACTOR) {
    errors.push(tooLong);
    return null;
  }
  const text = neutralise(value);
  if (text !== null && characterCount(text) > max) errors.push(tooLong);
  return text;
}

/**
 * A display name from outside — `PATCH /users/me/profile` and `POST /auth/register` alike — as
 * stored: neutralised and held to `max` characters. A name with nothing visible left (only tags
 * or control characters) is an error, not a silent null: `null` is how a name is cleared.
 */
export function checkedDisplayName(value: string | null, max: number, errors: FieldError[]): string | null {
  const name = checkedText('display_name', value, max, neutraliseDisplayName, errors);
  if (value !== null && name === null && !errors.some((e) => e.field === 'display_name')) {
    errors.push({ field: 'display_name', message: 'must contain visible text (HTML and control characters are removed)' });
  }
  return name;
}
