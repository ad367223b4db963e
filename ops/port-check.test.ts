import { createServer, type Server } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { describePortProblem, portProblems } from './port-check.ts'

describe('service ports', () => {
  const held: Server[] = []
  afterEach(async () => {
    await Promise.all(held.splice(0).map((s) => new Promise((r) => s.close(r))))
  })
  const hold = () =>
    new Promise<number>((resolve) => {
      const s = createServer()
      held.push(s)
      s.listen(0, '127.0.0.1', () => resolve((s.address() as { port: number }).port))
    })

  it('names a taken port, its address and the setting that moves it; a free one and port 0 pass', async () => {
    const taken = await hold()
    const free = await hold()
    await new Promise((r) => held.pop()!.close(r))
    expect(
      await portProblems([
        { key: 'IMPORTER_PORT', host: '127.0.0.1', port: taken },
        { key: 'PROCESSOR_PORT', host: '127.0.0.1', port: free },
        { key: 'WEB_PORT', host: '127.0.0.1', port: 0 },
      ]),
    ).toEqual([
      `port ${taken} on 127.0.0.1 (IMPORTER_PORT) is already in use by another program: stop that program, or set IMPORTER_PORT to a free port (in .env or the environment)`,
    ])
  })

  it('words the other reasons a port cannot be had', () => {
    const p = { key: 'WEB_PORT', host: '10.9.9.9', port: 80 }
    expect(describePortProblem(p, 'EACCES')).toBe(
      'port 80 on 10.9.9.9 (WEB_PORT) needs privileges this user does not have: set WEB_PORT to a port above 1023',
    )
    expect(describePortProblem(p, 'EADDRNOTAVAIL')).toBe(
      'port 80 on 10.9.9.9 (WEB_PORT): this machine has no address 10.9.9.9; check the host setting beside WEB_PORT',
    )
  })
})
