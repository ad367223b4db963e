// The transaction ids of one file, remembered exactly in bounded memory, so a repeat within the file is
// caught without ever rejecting a valid row. Each id's 16 bytes go to a spill file in arrival order; the
// table in memory keeps one 32-bit word per slot: the id's index in that file, and in the bits the index
// does not need, a tag of the id's hash (4.7 bytes an id at the table's load). A tag match is confirmed by
// reading the 16 bytes back, so ids that share any number of bits never collide; the tag only spares
// most of those reads (at 10 million ids it still has 8 bits, so 1 probe in 256 reads the spill).
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
const tagOf = (h: number) => fmix(h ^ 0x9e3779b9)
/** At least this many tag bits are kept, which caps a table at 2^28 ids (a file of some 18 GB). */
const MIN_TAG_BITS = 4

export class SeenIds {
  /** Per slot: (index + 1 of the id in the spill) << tagBits | tag; 0 is an empty slot. */
  private slots: Uint32Array
  private tagBits = 0
  private tagMask = 0
  private count = 0
  private readonly spillPath: string
  private readonly fd: number
  private readonly buffer = Buffer.alloc(BUFFERED_IDS * ID_BYTES)
  private flushed = 0
  private readonly probe = Buffer.alloc(ID_BYTES)
  private readonly words = new Uint32Array(4)

  /** `expected`: an upper bound on the ids to come (from the file's size), so the table never has to grow. */
  constructor(expected = 1024, dir = tmpdir()) {
    this.slots = this.table(Math.max(16, Math.ceil(expected / LOAD)))
    this.spillPath = join(dir, `stockflow-ids-${process.pid}-${Math.random().toString(36).slice(2)}`)
    this.fd = openSync(this.spillPath, 'w+')
  }

  get size(): number {
    return this.count
  }

  /** Adds a UUID (any case); returns false when it was already there. */
  add(uuid: string): boolean {
    const w = this.words
    // The 32 hex digits into four 32-bit words, read in place: no string per row (this runs for every row).
    let word = 0
    let digits = 0
    for (let i = 0; i < uuid.length; i++) {
      const c = uuid.charCodeAt(i)
      if (c === 0x2d) continue // '-'
      word = word * 16 + (c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57)
      if (++digits % 8 === 0) {
        w[digits / 8 - 1] = word
        word = 0
      }
    }
    if (this.count + 1 > this.slots.length * LOAD) this.grow()
    const h = hashOf(w)
    const tag = tagOf(h) & this.tagMask
    const cap = this.slots.length
    for (let i = Math.floor((h / 2 ** 32) * cap); ; i = i + 1 === cap ? 0 : i + 1) {
      const slot = this.slots[i]!
      if (slot === 0) {
        this.append(w)
        this.slots[i] = ((this.count << this.tagBits) | tag) >>> 0
        return true
      }
      if ((slot & this.tagMask) === tag && this.sameAs((slot >>> this.tagBits) - 1, w)) return false
    }
  }

  /** An empty table of `cap` slots, with as many tag bits as the largest index it can hold leaves. */
  private table(cap: number): Uint32Array {
    const indexBits = Math.ceil(Math.log2(Math.floor(cap * LOAD) + 2))
    if (32 - indexBits < MIN_TAG_BITS) throw new RangeError(`too many ids for one file: ${cap} slots`)
    this.tagBits = 32 - indexBits
    this.tagMask = 2 ** this.tagBits - 1
    return new Uint32Array(cap)
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
    const cap = this.slots.length * 2
    this.slots = this.table(cap)
    // Its own words: add() still holds the id being added in this.words.
    const w = new Uint32Array(4)
    for (let index = 0; index < this.count; index++) {
      const b = this.read(index)
      for (let k = 0; k < 4; k++) w[k] = b.readUInt32BE(k * 4)
      const h = hashOf(w)
      let i = Math.floor((h / 2 ** 32) * cap)
      while (this.slots[i] !== 0) i = i + 1 === cap ? 0 : i + 1
      this.slots[i] = (((index + 1) << this.tagBits) | (tagOf(h) & this.tagMask)) >>> 0
    }
  }
}
