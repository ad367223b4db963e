// Structured logging. Secrets are redacted by path, so a configured password never reaches a log line.
import pino, { type Logger } from 'pino'

export type { Logger }

export const REDACT_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'sasl.password',
  'config.kafka.sasl.password',
  'config.registry.password',
  'headers.authorization',
  '*.headers.authorization',
]

export interface LogOptions {
  name: string
  level?: string
  /** Pretty output for people at a terminal; JSON lines otherwise. */
  pretty?: boolean
  destination?: pino.DestinationStream
  /** JSON lines on stderr: a command's stdout is its result, which a log line must not corrupt. */
  stderr?: boolean
}

export function createLogger(opts: LogOptions): Logger {
  const base = {
    name: opts.name,
    level: opts.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '***' },
    serializers: { err: pino.stdSerializers.errWithCause },
  }
  if (opts.destination) return pino(base, opts.destination)
  if (opts.stderr) return pino(base, pino.destination({ fd: 2, sync: true }))
  if (opts.pretty) {
    return pino({
      ...base,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'HH:MM:ss.l' } },
    })
  }
  return pino(base)
}
