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
  const read = async (name: string, file: string) => {
    try {
      return await readFile(file)
    } catch (err) {
      problems.push(`${name} (${file}) cannot be read: ${(err as NodeJS.ErrnoException).code ?? err}`)
      return undefined
    }
  }
  // One after the other, so the problems come in the keys' order.
  const cert = await read('WEB_TLS_CERT', tls.certFile)
  const key = await read('WEB_TLS_KEY', tls.keyFile)
  if (cert === undefined || key === undefined) throw new ConfigError(problems)
  return { cert, key }
}
