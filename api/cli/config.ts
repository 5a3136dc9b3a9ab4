/**
 * Where the CLI finds the API and its key: flags, then the environment (LEASE_ENGINE_API_URL,
 * LEASE_ENGINE_API_KEY), then the config file (~/.config/lease-engine/config.json, or under
 * $XDG_CONFIG_HOME; LEASE_ENGINE_CONFIG names another), then the default URL of `npm start`.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CliError, EXIT } from './errors';

export const DEFAULT_API_URL = 'http://127.0.0.1:8080';

export interface ConfigFile {
  apiUrl?: string;
  apiKey?: string;
}

export interface Connection {
  apiUrl: string;
  /** Absent: only public routes (offers) can be used. */
  apiKey?: string;
  /** Where each value came from, for error messages. */
  sources: { apiUrl: 'flag' | 'env' | 'file' | 'default'; apiKey?: 'flag' | 'env' | 'file' };
}

export function configFilePath(env: NodeJS.ProcessEnv, home = os.homedir()): string {
  if (env.LEASE_ENGINE_CONFIG) return env.LEASE_ENGINE_CONFIG;
  const base = env.XDG_CONFIG_HOME || path.join(home, '.config');
  return path.join(base, 'lease-engine', 'config.json');
}

/** An absent file is no configuration; an unreadable or malformed one is an error that names it. */
export function readConfigFile(file: string, read: (file: string) => string = (f) => readFileSync(f, 'utf8')): ConfigFile {
  let text: string;
  try {
    text = read(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new CliError(`cannot read the config file ${file}: ${(err as Error).message}`, EXIT.usage);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new CliError(`the config file ${file} is not JSON (${(err as Error).message}); write {"apiUrl": "…", "apiKey": "…"}`, EXIT.usage);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CliError(`the config file ${file} must hold a JSON object like {"apiUrl": "…", "apiKey": "…"}`, EXIT.usage);
  }
  const out: ConfigFile = {};
  for (const key of ['apiUrl', 'apiKey'] as const) {
    const value = (parsed as Record<string, unknown>)[key];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value === '') throw new CliError(`the config file ${file}: "${key}" must be a non-empty string`, EXIT.usage);
    out[key] = value;
  }
  return out;
}

export interface ConnectionInputs {
  flags: { apiUrl?: string; apiKey?: string };
  env: NodeJS.ProcessEnv;
  file: ConfigFile;
}

/** Flags beat the environment, which beats the file. The URL must be http(s). */
export function resolveConnection({ flags, env, file }: ConnectionInputs): Connection {
  const pick = <T extends 'apiUrl' | 'apiKey'>(key: T, envName: string) => {
    if (flags[key]) return { value: flags[key], source: 'flag' as const };
    if (env[envName]) return { value: env[envName], source: 'env' as const };
    if (file[key]) return { value: file[key], source: 'file' as const };
    return undefined;
  };
  const url = pick('apiUrl', 'LEASE_ENGINE_API_URL');
  const key = pick('apiKey', 'LEASE_ENGINE_API_KEY');
  const apiUrl = (url?.value ?? DEFAULT_API_URL).replace(/\/+$/, '');
  let parsed: URL | undefined;
  try {
    parsed = new URL(apiUrl);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new CliError(`the API URL "${apiUrl}" (from ${url?.source ?? 'default'}) is not an http(s) URL, e.g. ${DEFAULT_API_URL}`, EXIT.usage);
  }
  return {
    apiUrl,
    ...(key ? { apiKey: key.value } : {}),
    sources: { apiUrl: url?.source ?? 'default', ...(key ? { apiKey: key.source } : {}) },
  };
}

/** The key, or an error that says how to give one. */
export function requireApiKey(connection: Connection, configFile: string): string {
  if (connection.apiKey) return connection.apiKey;
  throw new CliError(
    `no API key: pass --api-key or set LEASE_ENGINE_API_KEY (or put "apiKey" in ${configFile})`,
    EXIT.usage,
  );
}
