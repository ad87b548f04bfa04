import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/index.js';
import { createMailer, maskAddress, readOutbox } from './index.js';

const silent = pino({ level: 'silent' });

describe('createMailer', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'tessera-mailer-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('writes to DATA_DIR/outbox from EMAIL_FROM when no SMTP_HOST is set', async () => {
    const config = loadConfig({ DATA_DIR: dataDir, EMAIL_FROM: 'Accounts <accounts@tessera.test>' });
    const mailer = createMailer(config, silent);
    expect(mailer.kind).toBe('outbox');

    await mailer.send({ to: 'carol@example.com', subject: 'Hello', text: 'Plain', html: '<p>Rich</p>', kind: 'verify_email' });
    await mailer.close();

    const [entry, ...rest] = await readOutbox(dataDir);
    expect(rest).toEqual([]);
    expect(entry).toMatchObject({ to: 'carol@example.com', subject: 'Hello', text: 'Plain', html: '<p>Rich</p>' });
    expect(path.dirname(entry!.file)).toBe(path.join(dataDir, 'outbox'));
  });

  it('sends over SMTP when SMTP_HOST is set', async () => {
    const mailer = createMailer(loadConfig({ DATA_DIR: dataDir, SMTP_HOST: '127.0.0.1', SMTP_PORT: '2525' }), silent);
    expect(mailer.kind).toBe('smtp');
    await mailer.close();
  });
});

describe('maskAddress', () => {
  it.each([
    ['alice@example.com', 'a***@example.com'],
    ['a@example.com', 'a***@example.com'],
    ['élodie@exemple.fr', 'é***@exemple.fr'],
    ['"odd@local"@example.com', '"***@example.com'],
    ['not-an-address', '***'],
    ['', '***'],
  ])('%s → %s', (address, masked) => {
    expect(maskAddress(address)).toBe(masked);
  });
});
