// Every error stockflow raises on purpose. Retriability is decided here, where the error is made,
// so callers branch on `err.retriable` instead of re-guessing from messages.

export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'DB_UNAVAILABLE'
  | 'DB_SERIALIZATION'
  | 'DB_CONSTRAINT'
  | 'DB_DATA'
  | 'DB_TIMEOUT'
  | 'DB_ERROR'
  | 'KAFKA_ERROR'
  | 'REGISTRY_ERROR'
  | 'UNDECODABLE'
  | 'FILE_REJECTED'
  | 'MISSING_COLUMNS'
  | 'SINK_FAILED'
  | 'USAGE'
  | 'FILE_CHANGED'
  | 'TOPIC_CHANGED'
  | 'REDRIVE_CHANGED'
  | 'REVERT_NOT_FOUND'
  | 'REVERT_AMBIGUOUS'
  | 'REVERT_CHANGED'
  | 'WEB_INPUT'
  | 'NOT_FOUND'
  | 'ALREADY_RUNNING'
  | 'PORT_TAKEN'

export interface AppErrorOptions {
  retriable?: boolean
  cause?: unknown
  context?: Record<string, unknown>
}

export class AppError extends Error {
  readonly code: ErrorCode
  readonly retriable: boolean
  readonly context: Record<string, unknown>

  constructor(code: ErrorCode, message: string, opts: AppErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = new.target.name
    this.code = code
    this.retriable = opts.retriable ?? false
    this.context = opts.context ?? {}
  }
}

export class ConfigError extends AppError {
  readonly problems: readonly string[]

  constructor(problems: string[]) {
    super('CONFIG_INVALID', `Invalid configuration:\n  - ${problems.join('\n  - ')}`)
    this.problems = problems
  }
}

export class DbError extends AppError {}
export class KafkaError extends AppError {}
export class RegistryError extends AppError {}
export class DecodeError extends AppError {}
export class FileRejectedError extends AppError {}
export class UsageError extends AppError {}
/** The log no longer holds the record the ledger applied at an offset: the topic was recreated. */
export class TopicChangedError extends AppError {}

/** SQLSTATE of a duplicate key: code that inserts optimistically checks for it and takes another way. */
export const UNIQUE_VIOLATION = '23505'

/** SQLSTATE classes that mean "try the same transaction again later". */
function sqlstateRetriable(state: string): boolean {
  return (
    state === '40001' || // serialization_failure
    state === '40P01' || // deadlock_detected
    state === '55P03' || // lock_not_available (lock_timeout)
    state === '57014' || // query_canceled (statement_timeout)
    state === '25P03' || // idle_in_transaction_session_timeout
    state.startsWith('53') || // insufficient resources: disk full, out of memory, too many connections
    state.startsWith('58') || // system errors such as I/O errors
    state.startsWith('08') || // connection exceptions
    state.startsWith('57P') // admin shutdown, crash shutdown, cannot connect now
  )
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
])

/** Wraps anything postgres.js throws into a DbError whose retriability follows the SQLSTATE. */
export function classifyDbError(err: unknown, context: Record<string, unknown> = {}): DbError {
  if (err instanceof DbError) return err
  const e = err as { code?: string; message?: string; severity?: string }
  const state = typeof e?.code === 'string' ? e.code : ''
  if (NETWORK_CODES.has(state)) {
    return new DbError('DB_UNAVAILABLE', `Postgres unreachable: ${e.message}`, {
      retriable: true,
      cause: err,
      context,
    })
  }
  if (/^[0-9A-Z]{5}$/.test(state)) {
    if (
      state.startsWith('08') ||
      state.startsWith('57P') ||
      state.startsWith('53') ||
      state.startsWith('58')
    ) {
      return new DbError('DB_UNAVAILABLE', `Postgres unavailable (${state}): ${e.message}`, {
        retriable: true,
        cause: err,
        context: { ...context, sqlstate: state },
      })
    }
    if (state === '57014' || state === '55P03' || state === '25P03') {
      // Timeouts mean "too slow now" (a long lock wait, a loaded server), not "wrong": back off and retry.
      return new DbError('DB_TIMEOUT', `Postgres timed out (${state}): ${e.message}`, {
        retriable: true,
        cause: err,
        context: { ...context, sqlstate: state },
      })
    }
    if (state.startsWith('22') || state.startsWith('54')) {
      // A value Postgres cannot take (bad text, out of range) or a statement past a limit: retrying the
      // same input fails the same way, so the caller must isolate the input instead.
      return new DbError('DB_DATA', `Postgres refused a value (${state}): ${e.message}`, {
        cause: err,
        context: { ...context, sqlstate: state },
      })
    }
    if (state.startsWith('40')) {
      return new DbError('DB_SERIALIZATION', `Postgres conflict (${state}): ${e.message}`, {
        retriable: sqlstateRetriable(state),
        cause: err,
        context: { ...context, sqlstate: state },
      })
    }
    if (state.startsWith('23')) {
      return new DbError('DB_CONSTRAINT', `Constraint violated (${state}): ${e.message}`, {
        cause: err,
        context: { ...context, sqlstate: state },
      })
    }
  }
  return new DbError(
    'DB_ERROR',
    `Postgres error${state ? ` (${state})` : ''}: ${e?.message ?? String(err)}`,
    {
      retriable: sqlstateRetriable(state),
      cause: err,
      context: { ...context, sqlstate: state || undefined },
    },
  )
}

export function isRetriable(err: unknown): boolean {
  return err instanceof AppError ? err.retriable : false
}

/**
 * True when Postgres refused the data itself (data exception, constraint, program limit): the input is
 * at fault, not the server or the code, so the caller isolates the offending input and carries on.
 */
export function isRefusedInput(err: unknown): boolean {
  return err instanceof DbError && (err.code === 'DB_DATA' || err.code === 'DB_CONSTRAINT')
}

/** An error and the errors it wraps (`cause`, or kafkajs's `originalError`), outermost first. */
export function* causes(err: unknown): Generator<{ name?: string; type?: unknown; message?: string }> {
  let e = err as { name?: string; type?: unknown; cause?: unknown; originalError?: unknown } | undefined
  for (let depth = 0; e && typeof e === 'object' && depth < 8; depth++) {
    yield e
    e = (e.cause ?? e.originalError) as typeof e
  }
}

/** Wrong credentials or missing rights anywhere in the cause chain: waiting will not change them. */
export function deniedAccess(err: unknown): boolean {
  for (const e of causes(err)) {
    if (
      /SASL|AUTHENTICATION|AUTHORIZATION/i.test(`${e.name ?? ''} ${typeof e.type === 'string' ? e.type : ''}`)
    )
      return true
  }
  return false
}
