// The console's certificate and key, read from the files WEB_TLS_CERT and WEB_TLS_KEY name. Read once at
// start: a file that cannot be read stops the console with the key's name, not a bare ENOENT.
import { readFile } from 'node:fs/promises'
import type { Config } from '../lib/config.ts'
import { ConfigError } from '../lib/errors.ts'

export interface TlsMaterial {
  cert: Buffer
  key: Buffer
}

export async function readTlsFiles(tls: Config['web']['tls']): Promise<TlsMaterial | undefined> {
  if (tls === undefined) return undefined
  const problems: string[] = []
  const read = (key: string, file: string) =>
    readFile(file).catch((err: NodeJS.ErrnoException) => {
      problems.push(`${key} (${file}) cannot be read: ${err.code ?? err.message}`)
      return Buffer.alloc(0)
    })
  const [cert, key] = await Promise.all([
    read('WEB_TLS_CERT', tls.certFile),
    read('WEB_TLS_KEY', tls.keyFile),
  ])
  if (problems.length > 0) throw new ConfigError(problems)
  return { cert, key }
}
