/** What every customer command starts from: the global options, where output goes, and the API client. */
import { ApiClient } from './client';
import type { Connection } from './config';
import { configFilePath, readConfigFile, requireApiKey, resolveConnection } from './config';

export interface GlobalOptions {
  apiUrl?: string;
  apiKey?: string;
  json?: boolean;
}

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** Where ~ is (tests point it elsewhere). */
  home?: string;
}

export const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
};

export function connectionOf(options: GlobalOptions, io: CliIo): { connection: Connection; configFile: string } {
  const configFile = configFilePath(io.env, io.home);
  const connection = resolveConnection({
    flags: { apiUrl: options.apiUrl, apiKey: options.apiKey },
    env: io.env,
    file: readConfigFile(configFile),
  });
  return { connection, configFile };
}

/** A client with the customer's key; `needKey: false` for public routes. */
export function clientOf(options: GlobalOptions, io: CliIo, needKey = true): ApiClient {
  const { connection, configFile } = connectionOf(options, io);
  const apiKey = needKey ? requireApiKey(connection, configFile) : connection.apiKey;
  return new ApiClient({ apiUrl: connection.apiUrl, ...(apiKey ? { apiKey } : {}) });
}

/** With --json the answer as JSON and nothing else; otherwise the human rendering. */
export function print(io: CliIo, options: GlobalOptions, value: unknown, human: () => string): void {
  io.stdout(options.json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

/** Columns padded to their widest cell. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((row) => row.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  return cells.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}
