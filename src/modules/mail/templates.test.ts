import { describe, expect, it } from 'vitest';
import { escapeHtml, lockoutNotice, passwordChanged, passwordReset, verifyEmail, type MailContent } from './templates.js';

const VERIFY_LINK = 'https://tessera.test/verify-email?token=abc_DEF-123';
const RESET_LINK = 'https://tessera.test/reset-password?token=xyz_789';
const AT = new Date('2025-03-01T14:05:09.000Z');
const ATTACK = '<script>alert("x")</script> & <img src=x onerror=alert(1)>';

function all(displayName: string | null): MailContent[] {
  return [
    verifyEmail({ displayName, link: VERIFY_LINK, expiresInHours: 24 }),
    passwordReset({ displayName, link: RESET_LINK, expiresInMinutes: 60 }),
    lockoutNotice({ displayName, lockedMinutes: 30, ip: '203.0.113.7', at: AT }),
    passwordChanged({ displayName, at: AT, ip: '2001:db8::1' }),
  ];
}

describe('mail templates', () => {
  it('each has a subject, a kind, a plain-text part and a whole HTML document', () => {
    const mails = all('Alice');
    expect(mails.map((m) => m.kind)).toEqual(['verify_email', 'password_reset', 'lockout_notice', 'password_changed']);
    for (const m of mails) {
      expect(m.subject).toMatch(/Tessera/);
      expect(m.text).toMatch(/^Hello Alice,\n\n/);
      expect(m.text).not.toMatch(/<[a-z]/i);
      expect(m.html).toMatch(/^<!DOCTYPE html>/);
      expect(m.html).toContain('Hello Alice,');
      expect(m.html).toContain('</html>');
    }
  });

  it('escapes HTML in display names in the HTML part', () => {
    for (const m of all(ATTACK)) {
      expect(m.html).not.toContain('<script>');
      expect(m.html).not.toContain('<img');
      expect(m.html).toContain('Hello &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;,');
      // plain text shows the name as typed: nothing renders it
      expect(m.text).toContain(`Hello ${ATTACK},`);
      // the subject never carries user input
      expect(m.subject).not.toContain('script');
    }
  });

  it('keeps a display name from adding lines or reordering text', () => {
    const [mail] = all('Mallory\n\nYour account is suspended, call +1 555\u202Eevil');
    expect(mail!.text).toMatch(/^Hello Mallory Your account is suspended, call \+1 555 evil,\n\n/);
    expect(mail!.html).toContain('Hello Mallory Your account is suspended, call +1 555 evil,');
  });

  it('greets without a name when there is none', () => {
    for (const m of all(null)) {
      expect(m.text).toMatch(/^Hello,\n\n/);
      expect(m.html).toContain('>Hello,</p>');
    }
  });

  it('embeds the links in both parts, as a button and written out', () => {
    const verify = verifyEmail({ displayName: 'Alice', link: VERIFY_LINK, expiresInHours: 24 });
    expect(verify.text).toContain(`\n\n${VERIFY_LINK}\n\n`);
    expect(verify.text).toContain('expires in 24 hours');
    expect(verify.html.split(`href="${VERIFY_LINK}"`)).toHaveLength(3);

    const reset = passwordReset({ displayName: 'Alice', link: RESET_LINK, expiresInMinutes: 1 });
    expect(reset.text).toContain(`\n\n${RESET_LINK}\n\n`);
    expect(reset.text).toContain('expires in 1 minute ');
    expect(reset.html).toContain(`href="${RESET_LINK}"`);
  });

  it('escapes a link that carries markup characters in its query', () => {
    const link = 'https://tessera.test/verify-email?token=a&next="><b>';
    const mail = verifyEmail({ displayName: 'Alice', link, expiresInHours: 24 });
    expect(mail.html).not.toContain('"><b>');
    expect(mail.html).toContain('href="https://tessera.test/verify-email?token=a&amp;next=%22%3E%3Cb%3E"');
  });

  it('refuses links that are not absolute http(s) URLs', () => {
    for (const link of ['javascript:alert(1)', '/verify-email?token=x', 'data:text/html,<b>x</b>']) {
      expect(() => verifyEmail({ displayName: 'Alice', link, expiresInHours: 24 })).toThrow(/http\(s\)/);
    }
  });

  it('says when and from where for lockouts and password changes', () => {
    const lockout = lockoutNotice({ displayName: 'Alice', lockedMinutes: 30, ip: '203.0.113.7', at: AT });
    expect(lockout.text).toContain('locked for 30 minutes on 2025-03-01 14:05 UTC from the address 203.0.113.7.');
    const changed = passwordChanged({ displayName: 'Alice', at: AT, ip: null });
    expect(changed.text).toContain('changed on 2025-03-01 14:05 UTC. Your other sessions were signed out.');
  });

  it('loads nothing from outside: no images, stylesheets or fonts', () => {
    for (const m of all('Alice')) {
      expect(m.html).not.toMatch(/<img|<link|@import|url\(|src=/i);
    }
  });
});

describe('escapeHtml', () => {
  it('escapes the five characters that matter in text and attributes', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  });
});
