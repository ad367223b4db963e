// Free loopback ports for services a test starts itself.
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'

/**
 * The kernel's range for the local end of outgoing connections. A port from it, free when checked, can be
 * taken a moment later by any client's connect() (a busy run opens thousands), and the service the port
 * was meant for then fails with EADDRINUSE; so test ports come from above it.
 */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)
    return [Number(low), Number(high)]
  } catch {
    return [32768, 60999]
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer()
    srv.once('error', () => resolve(false))
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)))
  })
}

export async function freePort(): Promise<number> {
  const [, high] = ephemeralRange()
  const low = Math.max(high + 1, 1024)
  // A range that leaves nothing above it: fall back to any free port.
  if (65535 - low < 500) return anyPort()
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (65535 - low + 1))
    if (await canListen(port)) return port
  }
  throw new Error(`no free port found between ${low} and 65535`)
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
