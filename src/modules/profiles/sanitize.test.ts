import { describe, expect, it } from 'vitest';
import { characterCount, neutraliseBio, neutraliseDisplayName } from './sanitize.js';

describe('neutraliseDisplayName', () => {
  it.each([
    ['<b>Ann</b> Lee', 'Ann Lee'],
    ['<script>alert(1)</script>Bob', 'Bob'],
    ['<SCRIPT type="x">alert(1)</SCRIPT >Bob', 'Bob'],
    ['<img src=x onerror=alert(1)>Eve', 'Eve'],
    ['<!-- hidden -->Kim', 'Kim'],
    ['I <3 cats', 'I ＜3 cats'],
    ['a > b', 'a ＞ b'],
    ['<scr\u0000ipt>alert(1)</script>', null],
    ['AT&T "quotes" O\'Brien', 'AT&T "quotes" O\'Brien'],
    ['  lots   of\tspace\n ', 'lots of space'],
    ['left\u202eright\u202c', 'leftright'],
    ['\u2066isolated\u2069', 'isolated'],
    ['zero\u200bwidth\ufeff', 'zerowidth'],
    ['\u0000\u0001\u001f\u007f\u0085\u009f', null],
    ['<script>only</script>', null],
    ['', null],
  ])('%j → %j', (input, expected) => {
    expect(neutraliseDisplayName(input)).toBe(expected);
  });

  it('normalises to NFC and drops lone surrogates', () => {
    expect(neutraliseDisplayName('e\u0301')).toBe('é');
    expect(neutraliseDisplayName('a\ud800b')).toBe('ab');
  });

  it('keeps emoji sequences (ZWJ) and right-to-left text', () => {
    expect(neutraliseDisplayName('👩‍👩‍👧 family')).toBe('👩‍👩‍👧 family');
    expect(neutraliseDisplayName('שלום עולם')).toBe('שלום עולם');
  });

  it('cuts combining-mark runs ("zalgo") to 8', () => {
    const out = neutraliseDisplayName(`Z${'\u0336'.repeat(50)}`)!;
    expect(characterCount(out)).toBe(9);
  });

  it('is idempotent', () => {
    for (const s of ['<b>x</b> <3', 'a\u202eb', 'I ＜3 cats']) {
      const once = neutraliseDisplayName(s)!;
      expect(neutraliseDisplayName(once)).toBe(once);
    }
  });
});

describe('neutraliseBio', () => {
  it('keeps line breaks (at most one blank line), trims each line', () => {
    expect(neutraliseBio('one  \r\ntwo\r\n\r\n\r\n\r\nthree\u2028four')).toBe('one\ntwo\n\nthree\nfour');
  });

  it('drops markup across lines', () => {
    expect(neutraliseBio('<style>\nbody{}\n</style>Hi <a\nhref="x">there</a>')).toBe('Hi there');
  });
});

describe('characterCount', () => {
  it('counts code points, not bytes or UTF-16 units', () => {
    expect(characterCount('😀😀')).toBe(2);
    expect(characterCount('é')).toBe(1);
    expect(characterCount('abc')).toBe(3);
  });
});
