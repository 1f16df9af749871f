import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/**
 * The one logger of a server process: JSON lines on stdout (pino's format), one child per
 * component (`logger.child({ component: 'http' })`) so lines can be filtered by origin.
 */
export function createLogger(level: LevelWithSilent = 'info', destination?: NodeJS.WritableStream): Logger {
  const opts = { level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
  return destination ? pino(opts, destination) : pino(opts);
}
