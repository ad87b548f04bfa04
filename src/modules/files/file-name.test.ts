import { describe, expect, it } from 'vitest';
import { MAX_FILE_NAME_BYTES, sanitizeFileName } from './file-name.js';

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

describe('sanitizeFileName', () => {
  it('keeps an ordinary name as it is', () => {
    expect(sanitizeFileName('Holiday photos 2024 (1).jpg')).toBe('Holiday photos 2024 (1).jpg');
    expect(sanitizeFileName('.bashrc')).toBe('.bashrc');
    expect(sanitizeFileName('résumé – final.pdf')).toBe('résumé – final.pdf');
  });

  it('keeps only the last segment of a path, with either separator', () => {
    expect(sanitizeFileName('../../etc/passwd')).toBe('passwd');
    expect(sanitizeFileName('C:\\Users\\me\\report.pdf')).toBe('report.pdf');
    expect(sanitizeFileName('folder/')).toBe('unnamed');
    expect(sanitizeFileName('..\\..\\')).toBe('unnamed');
  });

  it('drops the zero-width space and word joiner, keeps the joiners words and emoji need', () => {
    expect(sanitizeFileName('in\u200bvoice\u2060.pdf')).toBe('invoice.pdf');
    expect(sanitizeFileName('\u200b.pdf')).toBe('.pdf');
    expect(sanitizeFileName('\u200b\u200b')).toBe('unnamed');
    expect(sanitizeFileName('می\u200cخواهم.txt')).toBe('می\u200cخواهم.txt');
    expect(sanitizeFileName('👨\u200d👩\u200d👧.png')).toBe('👨\u200d👩\u200d👧.png');
  });

  it('never returns a Windows device name', () => {
    expect(sanitizeFileName('CON')).toBe('_CON');
    expect(sanitizeFileName('nul')).toBe('_nul');
    expect(sanitizeFileName('con.txt')).toBe('_con.txt');
    expect(sanitizeFileName('con .txt')).toBe('_con .txt');
    expect(sanitizeFileName('AUX  .tar.gz')).toBe('_AUX .tar.gz');
    expect(sanitizeFileName('COM1.log')).toBe('_COM1.log');
    expect(sanitizeFileName('LPT9')).toBe('_LPT9');
    expect(sanitizeFileName('console.txt')).toBe('console.txt');
    expect(sanitizeFileName('CONTRACT.pdf')).toBe('CONTRACT.pdf');
  });

  it('cuts a long name to 255 UTF-8 bytes between characters, keeping the extension', () => {
    const long = sanitizeFileName(`${'a'.repeat(1000)}.txt`);
    expect(bytes(long)).toBe(MAX_FILE_NAME_BYTES);
    expect(long.endsWith('.txt')).toBe(true);
    const euros = sanitizeFileName('€'.repeat(1000));
    expect(bytes(euros)).toBeLessThanOrEqual(MAX_FILE_NAME_BYTES);
    expect(euros).toBe('€'.repeat(85));
    const family = '👨‍👩‍👧';
    const emoji = sanitizeFileName(family.repeat(100));
    expect(bytes(emoji)).toBeLessThanOrEqual(MAX_FILE_NAME_BYTES);
    expect(emoji.length % family.length).toBe(0); // no cluster split in half
  });

  it('removes bidi overrides, so the extension reads as it is', () => {
    expect(sanitizeFileName('invoice\u202Efdp.exe')).toBe('invoicefdp.exe');
    expect(sanitizeFileName('\u2067a\u2069b\u200F.txt')).toBe('ab.txt');
  });

  it('removes control characters and turns line breaks into spaces', () => {
    expect(sanitizeFileName('a\u0000b\u0007c\u009b.txt')).toBe('abc.txt');
    expect(sanitizeFileName('two\nlines\r\n.txt')).toBe('two lines .txt');
  });

  it('replaces the characters Windows refuses', () => {
    expect(sanitizeFileName('what? <yes>: "a|b*".txt')).toBe('what_ _yes__ _a_b__.txt');
  });

  it('normalises to NFC', () => {
    const decomposed = 'e\u0301t\u00e9.txt';
    expect(sanitizeFileName(decomposed)).toBe('\u00e9t\u00e9.txt');
  });

  it('falls back when nothing is left: empty, only dots, only spaces, not a string', () => {
    expect(sanitizeFileName('')).toBe('unnamed');
    expect(sanitizeFileName('...')).toBe('unnamed');
    expect(sanitizeFileName('. . .')).toBe('unnamed');
    expect(sanitizeFileName('   ')).toBe('unnamed');
    expect(sanitizeFileName('\u202E')).toBe('unnamed');
    expect(sanitizeFileName(undefined)).toBe('unnamed');
    expect(sanitizeFileName('..', 'unnamed.pdf')).toBe('unnamed.pdf');
  });

  it('drops the trailing dots and spaces Windows would drop', () => {
    expect(sanitizeFileName('notes.txt. . ')).toBe('notes.txt');
  });

  it('replaces lone surrogates', () => {
    expect(sanitizeFileName('a\uD800b.txt')).toBe('a\uFFFDb.txt');
  });
});
