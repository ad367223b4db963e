// The transaction ids of one file, remembered exactly in bounded memory, so a repeat within the file is
// caught without ever rejecting a valid row. Each id's 16 bytes go to a spill file in arrival order; the
// table in memory keeps, per slot, a 16-bit tag and the id's index in that file (6 bytes a slot). A tag
// match is confirmed by reading the 16 bytes back, so ids that share any number of bits never collide.
import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const ID_BYTES = 16
const LOAD = 0.85
const BUFFERED_IDS = 4096

/** murmur3's 32-bit finaliser: every input bit moves every output bit. */
function fmix(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

const hashOf = (w: Uint32Array) => fmix(w[0]! ^ fmix(w[1]! ^ fmix(w[2]! ^ fmix(w[3]!))))
const tagOf = (h: number) => fmix(h ^ 0x9e3779b9) & 0xffff

export class SeenIds {
  private tags: Uint16Array
  /** Index + 1 of the id in the spill; 0 is an empty slot. */
  private refs: Uint32Array
  private count = 0
  private readonly spillPath: string
  private readonly fd: number
  private readonly buffer = Buffer.alloc(BUFFERED_IDS * ID_BYTES)
  private flushed = 0
  private readonly probe = Buffer.alloc(ID_BYTES)
  private readonly words = new Uint32Array(4)

  /** `expected`: an upper bound on the ids to come (from the file's size), so the table never has to grow. */
  constructor(expected = 1024, dir = tmpdir()) {
    const cap = Math.max(16, Math.ceil(expected / LOAD))
    this.tags = new Uint16Array(cap)
    this.refs = new Uint32Array(cap)
    this.spillPath = join(dir, `stockflow-ids-${process.pid}-${Math.random().toString(36).slice(2)}`)
    this.fd = openSync(this.spillPath, 'w+')
  }

  get size(): number {
    return this.count
  }

  /** Adds a UUID (any case); returns false when it was already there. */
  add(uuid: string): boolean {
    const hex = uuid.replace(/-/g, '')
    const w = this.words
    for (let i = 0; i < 4; i++) w[i] = Number.parseInt(hex.slice(i * 8, i * 8 + 8), 16)
    if (this.count + 1 > this.refs.length * LOAD) this.grow()
    const h = hashOf(w)
    const tag = tagOf(h)
    const cap = this.refs.length
    for (let i = Math.floor((h / 2 ** 32) * cap); ; i = i + 1 === cap ? 0 : i + 1) {
      const ref = this.refs[i]!
      if (ref === 0) {
        this.append(w)
        this.tags[i] = tag
        this.refs[i] = this.count
        return true
      }
      if (this.tags[i] === tag && this.sameAs(ref - 1, w)) return false
    }
  }

  /** Removes the spill file. */
  close(): void {
    closeSync(this.fd)
    rmSync(this.spillPath, { force: true })
  }

  private append(w: Uint32Array): void {
    const at = (this.count - this.flushed) * ID_BYTES
    for (let i = 0; i < 4; i++) this.buffer.writeUInt32BE(w[i]!, at + i * 4)
    this.count++
    if (this.count - this.flushed === BUFFERED_IDS) this.flush()
  }

  private flush(): void {
    const n = (this.count - this.flushed) * ID_BYTES
    if (n > 0) writeSync(this.fd, this.buffer, 0, n, this.flushed * ID_BYTES)
    this.flushed = this.count
  }

  /** The 16 bytes of id number `index`, from the write buffer or the spill file. */
  private read(index: number): Buffer {
    if (index >= this.flushed) return this.buffer.subarray((index - this.flushed) * ID_BYTES)
    readSync(this.fd, this.probe, 0, ID_BYTES, index * ID_BYTES)
    return this.probe
  }

  private sameAs(index: number, w: Uint32Array): boolean {
    const b = this.read(index)
    return (
      b.readUInt32BE(0) === w[0] &&
      b.readUInt32BE(4) === w[1] &&
      b.readUInt32BE(8) === w[2] &&
      b.readUInt32BE(12) === w[3]
    )
  }

  /** Only when the estimate was too low: twice the slots, filled again from the spill. */
  private grow(): void {
    this.flush()
    const cap = this.refs.length * 2
    this.tags = new Uint16Array(cap)
    this.refs = new Uint32Array(cap)
    // Its own words: add() still holds the id being added in this.words.
    const w = new Uint32Array(4)
    for (let index = 0; index < this.count; index++) {
      const b = this.read(index)
      for (let k = 0; k < 4; k++) w[k] = b.readUInt32BE(k * 4)
      const h = hashOf(w)
      let i = Math.floor((h / 2 ** 32) * cap)
      while (this.refs[i] !== 0) i = i + 1 === cap ? 0 : i + 1
      this.tags[i] = tagOf(h)
      this.refs[i] = index + 1
    }
  }
}
