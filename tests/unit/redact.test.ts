import { describe, expect, it } from 'vitest';
import { containsSecret, foreignText, redactingReplacer, redactSecrets } from '../../lib/redact.ts';
import { ECHOED_PASSWORD, passwordEchoes } from '../support/secret-echoes.ts';

describe('containsSecret', () => {
  it.each(passwordEchoes(ECHOED_PASSWORD))('finds the password %s', (_, echo) => {
    expect(containsSecret(`invalid password: ${echo} (request 42)`, ['sk-123456', ECHOED_PASSWORD])).toBe(
      true,
    );
  });

  it('finds a secret under two layers of encoding and split by base64 line breaks', () => {
    const body = JSON.stringify({ newpassword: ECHOED_PASSWORD });
    expect(containsSecret(encodeURIComponent(encodeURIComponent(ECHOED_PASSWORD)), [ECHOED_PASSWORD])).toBe(
      true,
    );
    const base64OfForm = Buffer.from(new URLSearchParams({ newpassword: ECHOED_PASSWORD }).toString());
    expect(containsSecret(base64OfForm.toString('base64'), [ECHOED_PASSWORD])).toBe(true);
    const wrapped = Buffer.from(`${'x'.repeat(40)}${body}`)
      .toString('base64')
      .replace(/(.{16})/g, '$1\\r\\n');
    expect(containsSecret(`{"dump":"${wrapped}"}`, [ECHOED_PASSWORD])).toBe(true);
  });

  it('finds nothing in text that only looks encoded, and ignores values under four characters', () => {
    const text = 'Authentication Failed %41%42 &amp; &#39; \\u0041 dGVzdA== 0123abcd';
    expect(containsSecret(text, [ECHOED_PASSWORD, 'sk-123456', undefined])).toBe(false);
    expect(containsSecret('abc YWJj %61%62%63', ['abc'])).toBe(false);
  });
});

describe('foreignText', () => {
  it('keeps text without secrets, cut at 300 characters', () => {
    expect(foreignText('x'.repeat(1000), [ECHOED_PASSWORD])).toBe(`${'x'.repeat(300)}…`);
    expect(foreignText('Bad Gateway', [ECHOED_PASSWORD])).toBe('Bad Gateway');
  });

  it('drops text that holds a secret, also where the cut would split it', () => {
    expect(foreignText(`quota exceeded for ${encodeURIComponent('sk-123456')}`, ['sk-123456'])).toBe(
      undefined,
    );
    expect(foreignText(`${'x'.repeat(296)}sk-123456`, ['sk-123456'])).toBe(undefined);
  });
});

describe('redactSecrets', () => {
  it('replaces the whole text when it holds a secret in any form, and bounds its length', () => {
    expect(redactSecrets('bad password Xy7!pass for sk-1234', ['Xy7!pass', 'sk-1234'])).toBe('[REDACTED]');
    expect(redactSecrets(`status ${Buffer.from('sk-1234').toString('base64')}`, ['sk-1234'])).toBe(
      '[REDACTED]',
    );
    expect(redactSecrets('x'.repeat(1000), [])).toHaveLength(301);
  });

  it('leaves values shorter than four characters alone (they would match anywhere)', () => {
    expect(redactSecrets('abc abc', ['abc'])).toBe('abc abc');
  });
});

describe('the logger replacer', () => {
  it('masks fields named like secrets at any depth and keeps the rest', () => {
    const line = JSON.stringify(
      {
        clusterId: '1009123',
        password: 'Plain-pass1!',
        nested: { secretKey: 'sk-value-1234', credentials: { accessKey: 'AK' }, region: 'KR' },
        Authorization: 'SDK-HMAC-SHA256 Access=AK, Signature=abc',
        passwordStored: true,
      },
      redactingReplacer,
    );
    expect(JSON.parse(line)).toEqual({
      clusterId: '1009123',
      password: '[REDACTED]',
      nested: { secretKey: '[REDACTED]', credentials: '[REDACTED]', region: 'KR' },
      Authorization: '[REDACTED]',
      passwordStored: true,
    });
  });

  it('is what the Powertools logger writes with', async () => {
    const lines: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string) => {
      lines.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    try {
      const { Logger } = await import('@aws-lambda-powertools/logger');
      const { logger } = await import('../../lib/logger.ts');
      expect(logger).toBeInstanceOf(Logger);
      logger.setLogLevel('INFO');
      logger.info('probe', { password: 'Plain-pass1!', clusterId: '7' });
    } finally {
      process.stdout.write = write;
    }
    const logged = lines.join('');
    expect(logged).toContain('"clusterId":"7"');
    expect(logged).not.toContain('Plain-pass1!');
  });
});
