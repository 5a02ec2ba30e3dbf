import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. The server logs to stdout; the CLI logs to stderr (fd 2) because its
 * stdout carries exactly one JSON result.
 */
export function createLogger(level: string, fd: 1 | 2 = 1): Logger {
  return pino({ level, base: { service: 'onnxscope', pid: process.pid } }, pino.destination({ fd, sync: true }));
}
