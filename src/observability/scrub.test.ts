import { describe, expect, it } from 'vitest';
import { scrubEvent, scrubText } from './scrub.js';

const JWT = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlLXBhcnQ';
const OPAQUE = 'Q2hhbmdlLW1lLXRvLWEtcmVhbC1zZWNyZXQtcGxlYXNlLW9r'.slice(0, 43);

describe('scrubbing error reports', () => {
  it('removes e-mail addresses, bearer and basic credentials, JWTs, tickets and opaque tokens from text', () => {
    const text = scrubText(
      `user alice.smith+x@mail.example.co.uk failed; Authorization: Bearer ${JWT}; Basic dXNlcjpwYXNz; ` +
        `jwt ${JWT}; ticket wst_${'a'.repeat(43)}; refresh ${OPAQUE}`,
    );
    for (const secret of ['alice.smith', 'mail.example', JWT, 'dXNlcjpwYXNz', 'wst_aaaa', OPAQUE]) expect(text).not.toContain(secret);
    expect(text).toContain('[email]');
  });

  it('removes secret query parameters and key=value pairs, keeps the rest', () => {
    expect(scrubText('/api/v1/events?ticket=abc&limit=5')).toBe('/api/v1/events?ticket=[Filtered]&limit=5');
    expect(scrubText('/reset?token=abc123#x')).toBe('/reset?token=[Filtered]#x');
    expect(scrubText('login failed: password=hunter2, retry')).toBe('login failed: password=[Filtered], retry');
    expect(scrubText('{"refresh_token": "abc"}')).toBe('{"refresh_token": [Filtered]}');
    expect(scrubText('request 1f0c6a3e-9d8b-4c1a-a2b3-0123456789ab failed')).toBe('request 1f0c6a3e-9d8b-4c1a-a2b3-0123456789ab failed');
  });

  it('drops cookies, bodies and user details, and filters sensitive keys anywhere in the event', () => {
    const event = scrubEvent({
      message: 'boom for bob@example.com',
      request: { url: '/x?token=t', cookies: { sid: 'c' }, data: { password: 'p' }, headers: { authorization: 'Bearer x', cookie: 'a=b', 'user-agent': 'ua' } },
      user: { id: 'u1', email: 'bob@example.com', ip_address: '10.0.0.1' },
      extra: { nested: { client_secret: 's', apiKey: 'k', note: 'fine', list: ['carol@example.com'] } },
      breadcrumbs: [{ message: 'bob@example.com' }],
    });
    expect(event).toEqual({
      message: 'boom for [email]',
      request: { url: '/x?token=[Filtered]', headers: { authorization: '[Filtered]', cookie: '[Filtered]', 'user-agent': 'ua' } },
      user: { id: 'u1' },
      extra: { nested: { client_secret: '[Filtered]', apiKey: '[Filtered]', note: 'fine', list: ['[email]'] } },
    });
  });
});
