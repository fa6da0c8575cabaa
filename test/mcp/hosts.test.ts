// The DNS-rebinding check of /mcp as a table: which Host and Origin headers pass.
import { describe, expect, it } from 'vitest';
import { allowedHostnames, hostnameOf, hostRefusal } from '../../mcp/hosts.js';

describe('allowedHostnames', () => {
  it('holds the loopback names and the configured ones, lower-cased, ports and schemes dropped', () => {
    expect([...allowedHostnames([' Impact.Example.com:443 ', 'https://ops.example.org:8443', '', '[::1]'])]).toEqual([
      'localhost',
      '127.0.0.1',
      '[::1]',
      'impact.example.com',
      'ops.example.org',
    ]);
  });
});

describe('hostnameOf', () => {
  it.each([
    ['localhost:8080', 'host', 'localhost'],
    ['[::1]:8080', 'host', '[::1]'],
    ['EXAMPLE.com', 'host', 'example.com'],
    ['http://localhost:3000', 'origin', 'localhost'],
    ['null', 'origin', undefined],
    ['', 'host', undefined],
    ['a b', 'host', undefined],
  ] as const)('%j as a %s is %j', (value, kind, expected) => {
    expect(hostnameOf(value, kind)).toBe(expected);
  });
});

describe('hostRefusal', () => {
  const allowed = allowedHostnames(['impact.example.com']);
  it.each([
    [{ host: 'localhost:8080' }, true],
    [{ host: '127.0.0.1' }, true],
    [{ host: '[::1]:8080' }, true],
    [{ host: 'IMPACT.example.com' }, true],
    [{ host: 'impact.example.com', origin: 'https://impact.example.com' }, true],
    [{ host: 'localhost', origin: 'vscode-webview://localhost' }, true],
    [{}, false],
    [{ host: 'evil.example' }, false],
    [{ host: 'impact.example.com.evil.example' }, false],
    [{ host: 'localhost', origin: 'https://evil.example' }, false],
    [{ host: 'localhost', origin: 'null' }, false],
  ])('%j passes: %s', (headers, passes) => {
    const refusal = hostRefusal(headers, allowed);
    if (passes) expect(refusal).toBeUndefined();
    else expect(refusal).toContain('DNS rebinding protection');
  });
});
