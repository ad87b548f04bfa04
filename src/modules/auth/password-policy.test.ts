import { describe, expect, it } from 'vitest';
import { checkPassword } from './password-policy.js';

const seedPolicy = {
  minLength: 12,
  maxLength: 128,
  requireUppercase: true,
  requireLowercase: true,
  requireDigits: true,
  requireSpecial: true,
  preventReuseCount: 10,
  maxAgeDays: 90,
  rejectCommon: true,
};
const relaxed = { ...seedPolicy, requireUppercase: false, requireLowercase: false, requireDigits: false, requireSpecial: false };

describe('password policy', () => {
  it('accepts a password meeting every seed rule', () => {
    expect(checkPassword('Correct-Horse-7-Battery', seedPolicy, 'ann@example.com')).toEqual([]);
  });

  it('names each missing class and the length', () => {
    expect(checkPassword('zqxjw', seedPolicy, null).sort()).toEqual(['needs_digit', 'needs_special', 'needs_uppercase', 'too_short']);
  });

  it('counts characters, not bytes', () => {
    expect(checkPassword('ééééééééééé1A!', seedPolicy, null)).toEqual([]);
    expect(checkPassword('é'.repeat(11), relaxed, null)).toEqual(['too_short']);
  });

  it('refuses over-long passwords on their own (nothing else checked)', () => {
    expect(checkPassword('A1!a'.repeat(40), seedPolicy, null)).toEqual(['too_long']);
    expect(checkPassword('x'.repeat(1_000_000), relaxed, null)).toEqual(['too_long']);
  });

  it('refuses the e-mail address itself', () => {
    expect(checkPassword('Ann.Example@Example.com1', relaxed, 'ann.example@example.com')).toContain('is_email');
    expect(checkPassword('ann.example2024!', relaxed, 'ann.example@example.com')).toContain('is_email');
  });

  it('refuses common passwords, also with a composition-rule tail', () => {
    expect(checkPassword('qwertyuiop12', relaxed, null)).toContain('too_common');
    expect(checkPassword('Football123!', { ...seedPolicy, minLength: 8 }, null)).toContain('too_common');
    expect(checkPassword('Football123!', { ...seedPolicy, minLength: 8, rejectCommon: false }, null)).toEqual([]);
  });

  it('every composition rule can be turned off (NIST advice)', () => {
    expect(checkPassword('plain long passphrase here', relaxed, null)).toEqual([]);
  });
});
