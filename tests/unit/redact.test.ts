import { describe, expect, it } from 'vitest';
import { redactingReplacer, redactSecrets } from '../../lib/redact.ts';

describe('redactSecrets', () => {
  it('cuts every secret out of foreign text and bounds its length', () => {
    expect(redactSecrets('bad password Xy7!pass for sk-1234', ['Xy7!pass', 'sk-1234'])).toBe(
      'bad password [REDACTED] for [REDACTED]',
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
