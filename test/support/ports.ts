// Free loopback ports for services a test starts itself.
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'

/**
 * The kernel's range for the local end of outgoing connections. A port from it, free when checked, can be
 * taken a moment later by any client's connect() (a busy run opens thousands), and the service the port
 * was meant for then fails with EADDRINUSE; so test ports come from above it.
 */
function ephemeralTop(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[1])
  } catch {
    return 60999
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer()
    srv.once('error', () => resolve(false))
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)))
  })
}

/** Ports this process has handed out: a port is checked, then released, so a second call could get it too. */
const given = new Set<number>()

/** How many test workers the range is shared between, each with a slice of its own (VITEST_POOL_ID). */
const SLICES = 4

export async function freePort(): Promise<number> {
  const above = Math.max(ephemeralTop() + 1, 1024)
  // A range that leaves nothing above it: fall back to any free port.
  if (65535 - above < 400) return anyPort()
  const width = Math.floor((65535 - above + 1) / SLICES)
  const low = above + ((Number(process.env.VITEST_POOL_ID ?? 1) - 1) % SLICES) * width
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * width)
    if (given.has(port) || !(await canListen(port))) continue
    given.add(port)
    return port
  }
  throw new Error(`no free port found between ${low} and ${low + width - 1}`)
}

function anyPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port
      srv.close(() => resolve(port))
    })
  })
}
