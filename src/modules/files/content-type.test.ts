import { describe, expect, it } from 'vitest';
import { isAllowedType, sniffContentType, Utf8StreamValidator } from './content-type.js';

const sniff = (data: Buffer | string, complete = true) => sniffContentType(Buffer.isBuffer(data) ? data : Buffer.from(data), complete).type;
const DEFAULT_TYPES = ['image/*', 'application/pdf', 'text/*'];

describe('sniffContentType', () => {
  it('recognises images, documents and archives by their magic numbers', () => {
    expect(sniff(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]))).toBe('image/jpeg');
    expect(sniff(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]))).toBe('image/png');
    expect(sniff('GIF89a\x01\x00')).toBe('image/gif');
    expect(sniff(Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WEBPVP8 ')]))).toBe('image/webp');
    expect(sniff(Buffer.concat([Buffer.from([0, 0, 0, 0x1c]), Buffer.from('ftypavif')]))).toBe('image/avif');
    expect(sniff('%PDF-1.7\n%\xe2\xe3')).toBe('application/pdf');
    expect(sniff(Buffer.from('PK\x03\x04\x14\x00', 'latin1'))).toBe('application/zip');
    expect(sniff(Buffer.from([0x1f, 0x8b, 0x08, 0]))).toBe('application/gzip');
    const tar = Buffer.alloc(512);
    tar.write('ustar', 257, 'latin1');
    expect(sniff(tar)).toBe('application/x-tar');
  });

  it('names programs as programs', () => {
    expect(sniff(Buffer.concat([Buffer.from('MZ'), Buffer.alloc(100)]))).toBe('application/vnd.microsoft.portable-executable');
    expect(sniff(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]))).toBe('application/x-elf');
    expect(sniff(Buffer.from([0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1]))).toBe('application/x-mach-binary');
    expect(sniff('#!/bin/sh\nrm -rf ~\n')).toBe('text/x-shellscript');
  });

  it('finds HTML, SVG and XML however the text starts', () => {
    expect(sniff('<!DOCTYPE html><html><body>hi</body></html>')).toBe('text/html');
    expect(sniff('\ufeff  \n<html>\n<script>alert(1)</script>')).toBe('text/html');
    expect(sniff('<script>alert(1)</script>')).toBe('text/html');
    expect(sniff('<!-- a comment -->')).toBe('text/html');
    expect(sniff('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>')).toBe('image/svg+xml');
    expect(sniff('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>')).toBe('image/svg+xml');
    expect(sniff('<?xml version="1.0"?><note>hi</note>')).toBe('text/xml');
  });

  it('calls UTF-8 text without binary control characters text/plain', () => {
    expect(sniff('hello, world\n')).toBe('text/plain');
    expect(sniff('I <3 you')).toBe('text/plain');
    expect(sniff('BMW service history.txt contents')).toBe('text/plain');
    expect(sniff('naïve café — ok ✓\n')).toBe('text/plain');
    expect(sniff('')).toBe('text/plain');
  });

  it('calls anything else application/octet-stream', () => {
    expect(sniff(Buffer.from([0xc3, 0x28, 0x41]))).toBe('application/octet-stream'); // invalid UTF-8
    expect(sniff('text\u0000with a NUL')).toBe('application/octet-stream');
    expect(sniff(Buffer.from([0xff, 0xfe, 0x68, 0x00]))).toBe('application/octet-stream'); // UTF-16
  });

  it('does not blame a character cut in half by the end of the sniff window', () => {
    const head = Buffer.from('abc€', 'utf8').subarray(0, 5);
    expect(sniffContentType(head, false)).toEqual({ type: 'text/plain', needsUtf8: true });
    expect(sniffContentType(head, true).type).toBe('application/octet-stream');
  });
});

describe('isAllowedType', () => {
  it('matches exact types and wildcards', () => {
    expect(isAllowedType('image/png', DEFAULT_TYPES)).toBe(true);
    expect(isAllowedType('application/pdf', DEFAULT_TYPES)).toBe(true);
    expect(isAllowedType('text/plain', DEFAULT_TYPES)).toBe(true);
    expect(isAllowedType('application/zip', DEFAULT_TYPES)).toBe(false);
    expect(isAllowedType('application/zip', ['*/*'])).toBe(true);
  });

  it('never lets a wildcard admit active content or programs', () => {
    expect(isAllowedType('text/html', DEFAULT_TYPES)).toBe(false);
    expect(isAllowedType('image/svg+xml', DEFAULT_TYPES)).toBe(false);
    expect(isAllowedType('text/x-shellscript', DEFAULT_TYPES)).toBe(false);
    expect(isAllowedType('application/vnd.microsoft.portable-executable', ['*/*'])).toBe(false);
    expect(isAllowedType('image/svg+xml', [...DEFAULT_TYPES, 'image/svg+xml'])).toBe(true);
  });
});

describe('Utf8StreamValidator', () => {
  it('accepts a character split across chunks', () => {
    const text = Buffer.from('a€b😀c', 'utf8');
    for (let cut = 1; cut < text.length; cut++) {
      const v = new Utf8StreamValidator();
      expect(v.feed(text.subarray(0, cut))).toBe(true);
      expect(v.feed(text.subarray(cut))).toBe(true);
      expect(v.end()).toBe(true);
    }
    const bytewise = new Utf8StreamValidator();
    for (const byte of text) bytewise.feed(Buffer.from([byte]));
    expect(bytewise.end()).toBe(true);
  });

  it('refuses invalid bytes, NUL and a sequence left open at the end', () => {
    const bad = new Utf8StreamValidator();
    expect(bad.feed(Buffer.from([0x61, 0xc3, 0x28]))).toBe(false);
    const nul = new Utf8StreamValidator();
    expect(nul.feed(Buffer.from('a\u0000b'))).toBe(false);
    const open = new Utf8StreamValidator();
    expect(open.feed(Buffer.from([0x61, 0xe2, 0x82]))).toBe(true);
    expect(open.end()).toBe(false);
  });
});
