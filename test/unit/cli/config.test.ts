/** Where the CLI finds the API and its key: flags > environment > config file > default, and errors that say what to do. */
import { configFilePath, DEFAULT_API_URL, readConfigFile, requireApiKey, resolveConnection } from '../../../api/cli/config';
import { CliError, EXIT, exitCodeForStatus } from '../../../api/cli/errors';

const env = { LEASE_ENGINE_API_URL: 'http://env:1', LEASE_ENGINE_API_KEY: 'env-key' };
const file = { apiUrl: 'http://file:2', apiKey: 'file-key' };

describe('resolveConnection', () => {
  test('flags beat the environment, which beats the file, which beats the default', () => {
    expect(resolveConnection({ flags: { apiUrl: 'http://flag:3/', apiKey: 'flag-key' }, env, file })).toEqual({
      apiUrl: 'http://flag:3', apiKey: 'flag-key', sources: { apiUrl: 'flag', apiKey: 'flag' },
    });
    expect(resolveConnection({ flags: {}, env, file })).toMatchObject({ apiUrl: 'http://env:1', apiKey: 'env-key' });
    expect(resolveConnection({ flags: { apiKey: 'flag-key' }, env: {}, file })).toEqual({
      apiUrl: 'http://file:2', apiKey: 'flag-key', sources: { apiUrl: 'file', apiKey: 'flag' },
    });
    expect(resolveConnection({ flags: {}, env: {}, file: {} })).toEqual({ apiUrl: DEFAULT_API_URL, sources: { apiUrl: 'default' } });
  });

  test('a URL that is not http(s) is a usage error naming where it came from', () => {
    const attempt = () => resolveConnection({ flags: {}, env: { LEASE_ENGINE_API_URL: 'ftp://x' }, file: {} });
    expect(attempt).toThrow(CliError);
    expect(attempt).toThrow(/"ftp:\/\/x" \(from env\) is not an http\(s\) URL/);
    try {
      attempt();
    } catch (err) {
      expect((err as CliError).exitCode).toBe(EXIT.usage);
    }
  });

  test('no key: says how to give one', () => {
    const connection = resolveConnection({ flags: {}, env: {}, file: {} });
    expect(() => requireApiKey(connection, '/home/me/.config/lease-engine/config.json')).toThrow(
      'no API key: pass --api-key or set LEASE_ENGINE_API_KEY (or put "apiKey" in /home/me/.config/lease-engine/config.json)',
    );
  });
});

describe('the config file', () => {
  test('lives under ~/.config, $XDG_CONFIG_HOME, or where LEASE_ENGINE_CONFIG says', () => {
    expect(configFilePath({}, '/home/me')).toBe('/home/me/.config/lease-engine/config.json');
    expect(configFilePath({ XDG_CONFIG_HOME: '/xdg' }, '/home/me')).toBe('/xdg/lease-engine/config.json');
    expect(configFilePath({ LEASE_ENGINE_CONFIG: '/etc/le.json', XDG_CONFIG_HOME: '/xdg' }, '/home/me')).toBe('/etc/le.json');
  });

  test('absent is empty; malformed or mistyped is a usage error naming the file', () => {
    const enoent = Object.assign(new Error('no such file'), { code: 'ENOENT' });
    expect(readConfigFile('/c.json', () => { throw enoent; })).toEqual({});
    expect(readConfigFile('/c.json', () => '{"apiUrl":"http://a","apiKey":"k","other":1}')).toEqual({ apiUrl: 'http://a', apiKey: 'k' });
    expect(() => readConfigFile('/c.json', () => '{nope')).toThrow(/the config file \/c.json is not JSON/);
    expect(() => readConfigFile('/c.json', () => '[]')).toThrow(/must hold a JSON object/);
    expect(() => readConfigFile('/c.json', () => '{"apiKey":5}')).toThrow(/"apiKey" must be a non-empty string/);
  });
});

test('exit codes follow the API status: 2 bad request, 3 not found, 4 refused, 1 anything else', () => {
  expect([400, 401, 402, 404, 409, 413, 415, 422, 500, 503].map(exitCodeForStatus)).toEqual([2, 1, 4, 3, 4, 2, 2, 4, 1, 1]);
});
