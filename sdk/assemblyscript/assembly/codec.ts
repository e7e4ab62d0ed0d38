// The ABI v1 encodings (docs/ABI.md §5): a bounds-checked reader over the
// host's event buffer and a growable writer for contexts and declarations.

/** Reader decodes a payload in place; any overrun sets `bad`. */
export class Reader {
  constructor(public p: usize, public end: usize) {}
  bad: bool = false;

  has(n: usize): bool {
    if (this.bad || n > this.end - this.p) {
      this.bad = true;
      return false;
    }
    return true;
  }

  u8(): u32 {
    if (!this.has(1)) return 0;
    const v = <u32>load<u8>(this.p);
    this.p += 1;
    return v;
  }

  bool(): bool {
    const v = this.u8();
    if (v > 1) this.bad = true;
    return v == 1;
  }

  u32(): u32 {
    if (!this.has(4)) return 0;
    const v = load<u32>(this.p);
    this.p += 4;
    return v;
  }

  u64(): u64 {
    if (!this.has(8)) return 0;
    const v = load<u64>(this.p);
    this.p += 8;
    return v;
  }

  i64(): i64 {
    return <i64>this.u64();
  }

  /** Skips a str and returns its bytes' offset; the length is in `last`. */
  span(): usize {
    const n = <usize>this.u32();
    if (!this.has(n)) return 0;
    const at = this.p;
    this.p += n;
    this.last = n;
    return at;
  }
  last: usize = 0;

  str(): string {
    const at = this.span();
    if (this.bad || this.last == 0) return "";
    return String.UTF8.decodeUnsafe(at, this.last);
  }

  /** A count of items each at least min bytes long, checked against what is left. */
  count(min: usize): u32 {
    const n = this.u32();
    if (!this.bad && <u64>n * <u64>min > <u64>(this.end - this.p)) this.bad = true;
    return this.bad ? 0 : n;
  }

  skipPairs(): void {
    const n = this.count(8);
    for (let i: u32 = 0; i < n && !this.bad; i++) {
      this.span();
      this.span();
    }
  }
}

/** Writer appends encoded values to a growable buffer. */
export class Writer {
  buf: usize = 0;
  cap: usize = 0;
  len: usize = 0;

  reset(): this {
    this.len = 0;
    return this;
  }

  reserve(n: usize): usize {
    if (this.len + n > this.cap) {
      let c = this.cap < 64 ? <usize>64 : this.cap * 2;
      while (c < this.len + n) c *= 2;
      this.buf = this.buf == 0 ? heap.alloc(c) : heap.realloc(this.buf, c);
      this.cap = c;
    }
    const at = this.buf + this.len;
    this.len += n;
    return at;
  }

  u32(v: u32): this {
    store<u32>(this.reserve(4), v);
    return this;
  }

  putU32(at: usize, v: u32): void {
    store<u32>(this.buf + at, v);
  }

  str(s: string): this {
    const n = <usize>String.UTF8.byteLength(s);
    const at = this.reserve(4 + n);
    store<u32>(at, <u32>n);
    String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, at + 4);
    return this;
  }

  strs(ss: string[]): this {
    this.u32(<u32>ss.length);
    for (let i = 0; i < ss.length; i++) this.str(unchecked(ss[i]));
    return this;
  }
}

/** utf8 returns s's UTF-8 bytes in a fresh, unmanaged block. */
export function utf8(s: string): usize {
  const n = <usize>String.UTF8.byteLength(s);
  const p = heap.alloc(n > 0 ? n : 1);
  String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, p);
  return p;
}
