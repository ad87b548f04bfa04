/**
 * The character classes that text from outside is checked against or cleaned of, in one place,
 * so that "a control character" means the same in an e-mail address, a file name, an object key,
 * a header and a mail. (Display names and bios keep their line breaks: profiles/sanitize.ts.)
 */

/** C0 controls, DEL and C1 controls (Unicode's Cc): for `replace`. PostgreSQL's text cannot hold U+0000. */
export const CONTROL_CHARACTERS = /\p{Cc}/gu;

/**
 * Bidi marks, embeddings, overrides and isolates (U+061C, U+200E, U+200F, U+202A–U+202E,
 * U+2066–U+2069): they make text read differently from what it is ("invoice\u202efdp.exe"
 * shows as "invoiceexe.pdf"; "Trojan Source"). For `replace`.
 */
export const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/** A UTF-16 surrogate without its pair: a JavaScript string can hold one, UTF-8 cannot. For `replace`. */
export const LONE_SURROGATES = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

// Without the g flag, so that `test` keeps no position between calls.
const CONTROL_CHARACTER = new RegExp(CONTROL_CHARACTERS.source, 'u');
const LONE_SURROGATE = new RegExp(LONE_SURROGATES.source);

export function hasControlCharacter(text: string): boolean {
  return CONTROL_CHARACTER.test(text);
}

export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}
