import { describe, expect, it } from 'vitest';
import { isPlausibleEmail, normaliseEmail } from './email-address.js';

describe('e-mail addresses', () => {
  it('normalise to trimmed, NFC, lower-case: variants of one address are equal', () => {
    const forms = [' Jose\u0301@Example.COM ', 'JOSÉ@example.com', 'josé@EXAMPLE.com'];
    expect(new Set(forms.map(normaliseEmail))).toEqual(new Set(['josé@example.com']));
  });

  it('plausibility: refuses what cannot be an address, keeps the rest to the verification e-mail', () => {
    for (const ok of ['a@b.co', 'first.last+tag@sub.example.org', 'josé@exämple.com']) expect(isPlausibleEmail(ok), ok).toBe(true);
    for (const bad of ['', 'a', 'a@b', '@b.co', 'a@@b.co', 'a b@c.de', 'a@b.c', `${'a'.repeat(65)}@b.co`, `a@${'b'.repeat(250)}.com`, 'a\n@b.co', 'a\u0000b@c.de', 'a\u0085b@c.de', '<a@b.co>']) {
      expect(isPlausibleEmail(bad), JSON.stringify(bad)).toBe(false);
    }
  });
});
