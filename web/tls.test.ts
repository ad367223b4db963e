import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../lib/errors.ts'
import { readTlsFiles } from './tls.ts'

describe('readTlsFiles', () => {
  it('reads both files, or names every key whose file cannot be read', async () => {
    expect(await readTlsFiles(undefined)).toBeUndefined()
    const dir = await mkdtemp(join(tmpdir(), 'stockflow-tls-'))
    await writeFile(join(dir, 'web.crt'), 'CERT')
    await writeFile(join(dir, 'web.key'), 'KEY')
    const read = await readTlsFiles({ certFile: join(dir, 'web.crt'), keyFile: join(dir, 'web.key') })
    expect([read?.cert.toString(), read?.key.toString()]).toEqual(['CERT', 'KEY'])
    await expect(
      readTlsFiles({ certFile: join(dir, 'gone.crt'), keyFile: join(dir, 'gone.key') }),
    ).rejects.toThrow(
      new ConfigError([
        `WEB_TLS_CERT (${join(dir, 'gone.crt')}) cannot be read: ENOENT`,
        `WEB_TLS_KEY (${join(dir, 'gone.key')}) cannot be read: ENOENT`,
      ]),
    )
  })
})
