// A dropped file is opened once, without following symlinks, and checked through its open descriptor:
// a regular file, really inside the input folder, not too big. Everything after (hash, parse, the copy
// that is kept) reads that descriptor, so swapping the name for a link after the check changes nothing.
import { createHash } from 'node:crypto'
import { constants, createReadStream, createWriteStream } from 'node:fs'
import { type FileHandle, lstat, open, readlink, realpath, stat } from 'node:fs/promises'
import { relative, sep } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'

/** Where import-file.ts reads from: positional streams over one file, however it was opened. */
export interface FileSource {
  size: number
  stream(opts?: { start?: number; end?: number; highWaterMark?: number }): Readable
}

export interface AdmittedFile extends FileSource {
  readonly dev: number
  readonly ino: number
  /**
   * Device, inode and birth time (change time where the file system keeps no birth time): the same file
   * however often it is tried, across restarts. Read when first asked (after the claim's rename), then
   * kept: the key sent with the rows and the key of the outcome must be the same.
   */
  identity(): Promise<string>
  /**
   * True when the file's size or modification time is no longer what it was when admitted: a writer that
   * paused longer than the settle time went on writing, and what was hashed and parsed is not the file.
   */
  changed(): Promise<boolean>
  close(): Promise<void>
}

/** A file's identity from a bigint stat (see AdmittedFile.identity). */
export function fileIdentity(st: { dev: bigint; ino: bigint; birthtimeNs: bigint; ctimeNs: bigint }): string {
  return `${st.dev}:${st.ino}:${st.birthtimeNs > 0n ? st.birthtimeNs : `c${st.ctimeNs}`}`
}

export type RefusalCode = 'NOT_REGULAR_FILE' | 'SYMLINK' | 'OUTSIDE_INPUT_DIR' | 'FILE_TOO_LARGE'
export type Opened = { ok: true; file: AdmittedFile } | { ok: false; code: RefusalCode; message: string }

function inside(root: string, real: string): boolean {
  const rel = relative(root, real)
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !rel.startsWith(sep)
}

/**
 * Opens `path` for import. O_NOFOLLOW refuses a link as the last component; /proc/self/fd names the
 * file actually opened, so a linked folder on the way cannot lead outside either. O_NONBLOCK keeps a
 * FIFO from blocking the open; it is then refused as not a regular file. Throws ENOENT when it is gone.
 */
export async function openAdmitted(inputDir: string, path: string, maxBytes: number): Promise<Opened> {
  let fh: FileHandle
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP')
      return { ok: false, code: 'SYMLINK', message: 'symbolic links are not imported' }
    throw err
  }
  const refuse = async (code: RefusalCode, message: string): Promise<Opened> => {
    await fh.close()
    return { ok: false, code, message }
  }
  const st = await fh.stat()
  const big = await fh.stat({ bigint: true })
  let identity: Promise<string> | undefined
  if (!st.isFile()) return refuse('NOT_REGULAR_FILE', 'only regular files are imported')
  const [root, real] = await Promise.all([realpath(inputDir), readlink(`/proc/self/fd/${fh.fd}`)])
  if (!inside(root, real)) return refuse('OUTSIDE_INPUT_DIR', 'the file resolves outside the input folder')
  if (st.size > maxBytes)
    return refuse('FILE_TOO_LARGE', `the file has ${st.size} bytes; the limit is ${maxBytes}`)
  return {
    ok: true,
    file: {
      size: st.size,
      dev: st.dev,
      ino: st.ino,
      identity: () => {
        identity ??= fh
          .stat({ bigint: true })
          .then(fileIdentity)
          .catch((err) => {
            identity = undefined // a failed read is tried again on the next attempt
            throw err
          })
        return identity
      },
      changed: async () => {
        const now = await fh.stat({ bigint: true })
        return now.size !== big.size || now.mtimeNs !== big.mtimeNs
      },
      stream: (opts = {}) =>
        Readable.from(readRange(fh, opts.start ?? 0, opts.end, opts.highWaterMark ?? 64 * 1024)),
      close: () => fh.close(),
    },
  }
}

/**
 * Positional reads from the handle. Not fh.createReadStream: destroying one of those (an early break in a
 * for-await, a failed pipeline) closes the descriptor, and the next read of the same file would fail.
 */
async function* readRange(fh: FileHandle, start: number, end: number | undefined, chunk: number) {
  const last = end ?? Number.MAX_SAFE_INTEGER
  for (let pos = start; pos <= last; ) {
    const len = Math.min(chunk, last - pos + 1)
    const buf = Buffer.allocUnsafe(len)
    const { bytesRead } = await fh.read(buf, 0, len, pos)
    if (bytesRead === 0) return
    pos += bytesRead
    yield bytesRead === len ? buf : buf.subarray(0, bytesRead)
  }
}

/**
 * A source for files named on the command line (`stockflow import`), where links are the user's choice.
 * Its identity is read like an admitted file's, so its failure is keyed the same way.
 */
export function pathSource(path: string, size: number): FileSource & Pick<AdmittedFile, 'identity'> {
  return {
    size,
    stream: (opts = {}) => createReadStream(path, opts),
    identity: async () => fileIdentity(await stat(path, { bigint: true })),
  }
}

export async function sha256Of(source: FileSource): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of source.stream({ highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** True while the name still points at the admitted file (not swapped for something else since). */
export async function stillAt(path: string, file: AdmittedFile): Promise<boolean> {
  try {
    const st = await lstat(path)
    return st.isFile() && st.dev === file.dev && st.ino === file.ino
  } catch {
    return false
  }
}

/** Writes the admitted file's bytes to `dest` (which must not exist): the copy kept when its name was swapped. */
export async function copyOut(file: AdmittedFile, dest: string): Promise<void> {
  await pipeline(file.stream(), createWriteStream(dest, { flags: 'wx' }))
}
