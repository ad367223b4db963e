// A service whose port another program holds exits at once with EADDRINUSE; restarted, it fails the same
// way for ever. `stockflow start` therefore looks at the ports before it starts anything, and again when a
// service exits, and says once which port, on which address, and which setting moves it.
import { createServer } from 'node:net'

export interface ServicePort {
  /** The setting that chooses the port, e.g. IMPORTER_PORT. */
  key: string
  host: string
  port: number
}

/** Whether something else listens on the port: the error code that binding it gives, else undefined. */
export function bindProblem(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message))
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)))
  })
}

/** One sentence per port, for the ports that cannot be bound; port 0 (any free port) is never checked. */
export async function portProblems(ports: readonly ServicePort[]): Promise<string[]> {
  const checked = ports.filter((p) => p.port > 0)
  const problems = await Promise.all(checked.map((p) => bindProblem(p.host, p.port)))
  return checked.flatMap((p, i) => {
    const code = problems[i]
    return code === undefined ? [] : [describePortProblem(p, code)]
  })
}

/** What a person reads about a port that cannot be had. */
export function describePortProblem(p: ServicePort, code: string): string {
  const where = `port ${p.port} on ${p.host} (${p.key})`
  if (code === 'EADDRINUSE')
    return `${where} is already in use by another program: stop that program, or set ${p.key} to a free port (in .env or the environment)`
  if (code === 'EACCES')
    return `${where} needs privileges this user does not have: set ${p.key} to a port above 1023`
  if (code === 'EADDRNOTAVAIL')
    return `${where}: this machine has no address ${p.host}; check the host setting beside ${p.key}`
  return `${where} cannot be used (${code})`
}
