// The memory bounds a service process runs under.
//
// V8 fixes its heap limits from flags read when the process starts, and glibc its number of malloc
// arenas from the environment, so neither can be changed from inside a running service. A service
// started without them replaces itself once through execve, which keeps the pid: a supervisor, a
// container runtime or `kill` still sees one process. Flags that the operator gave (on the command line
// or in NODE_OPTIONS) win over the configured ones.
import type { MemoryConfig } from './config.ts'

/** The heap flags for one service. */
export function heapFlags(memory: MemoryConfig): string[] {
  return [`--max-old-space-size=${memory.heapMb}`, `--max-semi-space-size=${memory.youngMb}`]
}

/** Whether the process already runs under heap flags, its own or the operator's. */
export function hasHeapFlags(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  // V8 takes its flags with dashes or underscores alike.
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)].map((a) => a.replaceAll('_', '-'))
  return given.some((a) => a.startsWith('--max-old-space-size') || a.startsWith('--max-semi-space-size'))
}

export interface ProcessLike {
  execArgv: string[]
  argv: string[]
  execPath: string
  platform: NodeJS.Platform
  env: NodeJS.ProcessEnv
  execve?: (file: string, args?: readonly string[], env?: NodeJS.ProcessEnv) => never
}

/**
 * The argv and environment that restart this process under the service's bounds, or undefined when it
 * already runs under them (or cannot be replaced).
 */
export function relaunchPlan(
  proc: ProcessLike,
  memory: MemoryConfig,
): { args: string[]; env: NodeJS.ProcessEnv } | undefined {
  if (hasHeapFlags(proc.execArgv, proc.env.NODE_OPTIONS)) return undefined
  // execve exists on every platform but Windows throws ERR_FEATURE_UNAVAILABLE_ON_PLATFORM.
  if (typeof proc.execve !== 'function' || proc.platform === 'win32') return undefined
  return {
    args: [proc.execPath, ...proc.execArgv, ...heapFlags(memory), ...proc.argv.slice(1)],
    // One arena: the services allocate from few threads, and each extra arena keeps freed pages resident.
    env: { ...proc.env, MALLOC_ARENA_MAX: proc.env.MALLOC_ARENA_MAX ?? '1' },
  }
}

/** Replaces the process with itself under the service's memory bounds; returns when nothing is to do. */
export function enforceMemoryBounds(memory: MemoryConfig, proc: ProcessLike = process): void {
  const plan = relaunchPlan(proc, memory)
  if (plan) proc.execve?.(proc.execPath, plan.args, plan.env)
}
