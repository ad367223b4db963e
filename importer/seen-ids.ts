// Remembers the transaction ids of one file in 8 bytes each, so a 10M-row file does not need
// 10M JS strings to catch an id repeated within it. Ids are UUIDs: 64 of their bits are a
// fingerprint whose chance of a false "seen" is about n²/2^65 (below 1e-5 for 10M rows).

export class SeenIds {
  private hi: Uint32Array
  private lo: Uint32Array
  private used: Uint8Array
  private count = 0

  constructor(initialCapacity = 1024) {
    const cap = 2 ** Math.ceil(Math.log2(Math.max(16, initialCapacity)))
    this.hi = new Uint32Array(cap)
    this.lo = new Uint32Array(cap)
    this.used = new Uint8Array(cap)
  }

  get size(): number {
    return this.count
  }

  /** Adds the id; returns false when it was already there. */
  add(uuid: string): boolean {
    const hex = uuid.replace(/-/g, '')
    // The first 16 hex digits and the last 16 overlap in the version nibble only; mix both halves.
    const hi = (Number.parseInt(hex.slice(0, 8), 16) ^ Number.parseInt(hex.slice(16, 24), 16)) >>> 0
    const lo = (Number.parseInt(hex.slice(8, 16), 16) ^ Number.parseInt(hex.slice(24, 32), 16)) >>> 0
    if ((this.count + 1) * 4 > this.used.length * 3) this.grow()
    return this.insert(hi, lo)
  }

  private insert(hi: number, lo: number): boolean {
    const mask = this.used.length - 1
    for (let i = (Math.imul(lo, 0x9e3779b1) ^ hi) & mask; ; i = (i + 1) & mask) {
      if (!this.used[i]) {
        this.used[i] = 1
        this.hi[i] = hi
        this.lo[i] = lo
        this.count++
        return true
      }
      if (this.hi[i] === hi && this.lo[i] === lo) return false
    }
  }

  private grow(): void {
    const { hi, lo, used } = this
    this.hi = new Uint32Array(used.length * 2)
    this.lo = new Uint32Array(used.length * 2)
    this.used = new Uint8Array(used.length * 2)
    this.count = 0
    for (let i = 0; i < used.length; i++) if (used[i]) this.insert(hi[i]!, lo[i]!)
  }
}
