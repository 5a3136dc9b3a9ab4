/**
 * Routes the Temporal SDK's own log lines (worker state, workflow bundling, activity failures) through
 * the process's pino logger, so every line of a process is JSON of one shape. Signals are left to the
 * process: it decides how to shut down, including during start-up.
 */
import type { LogLevel } from '@temporalio/worker';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Logger } from 'pino';

const PINO_LEVELS: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

export function installSdkLogger(logger: Logger, minimum: LogLevel = 'INFO'): void {
  Runtime.install({
    logger: new DefaultLogger(minimum, ({ level, message, meta }) => {
      logger[PINO_LEVELS[level]]({ ...meta, sdk: 'temporal' }, message);
    }),
    shutdownSignals: [],
  });
}
