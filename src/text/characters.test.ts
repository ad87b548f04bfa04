import { describe, expect, it } from 'vitest';
import { BIDI_CONTROLS, CONTROL_CHARACTERS, LONE_SURROGATES, hasControlCharacter, hasLoneSurrogate } from './characters.js';

describe('character classes', () => {
  it('finds C0, DEL and C1 controls, and nothing printable', () => {
    for (const c of ['\u0000', '\t', '\n', '\u001f', '\u007f', '\u0085', '\u009f']) expect(hasControlCharacter(`a${c}b`), JSON.stringify(c)).toBe(true);
    for (const c of [' ', '~', '\u00a0', 'é', '\u200e', '\u{1f600}']) expect(hasControlCharacter(`a${c}b`), JSON.stringify(c)).toBe(false);
    // The shared /g expressions keep no state between calls.
    expect('a\u0000b\u0085c'.replace(CONTROL_CHARACTERS, '')).toBe('abc');
    expect('x\u0001'.replace(CONTROL_CHARACTERS, '')).toBe('x');
  });

  it('removes bidi marks, embeddings, overrides and isolates', () => {
    expect('invoice\u202efdp.exe'.replace(BIDI_CONTROLS, '')).toBe('invoicefdp.exe');
    expect('\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069x'.replace(BIDI_CONTROLS, '')).toBe('x');
    expect('\u200b\u200d'.replace(BIDI_CONTROLS, '')).toBe('\u200b\u200d');
  });

  it('finds a surrogate without its pair, and not a pair', () => {
    expect(hasLoneSurrogate('a\ud800b')).toBe(true);
    expect(hasLoneSurrogate('a\udc00')).toBe(true);
    expect(hasLoneSurrogate('\u{1f600}')).toBe(false);
    expect('\ud800\u{1f600}\udfff'.replace(LONE_SURROGATES, '?')).toBe('?\u{1f600}?');
  });
});
