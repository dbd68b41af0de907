// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11), in 32-bit
// integer arithmetic so every JS engine produces the same words. The normal transform uses JS doubles
// and Math.log/sqrt/cos/sin, which V8 implements with the same fdlibm port in Node and Chrome: the
// noise is bit-identical in both.
//
// Stream layout: the key is the 64-bit seed; the 128-bit counter is (block index low, block index
// high, 0, 0). Each block yields four 32-bit words, consumed in order; the state is the number of
// words consumed so far, so a saved state resumes exactly where the stream left off.

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
const TWO_POW_32 = 4294967296;

/** High 32 bits of the 64-bit product of two uint32 (Math.imul only gives the low half). */
function mulhi(a: number, b: number): number {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const loLo = aLo * bLo;
  const cross1 = aHi * bLo;
  const cross2 = aLo * bHi;
  // Carry out of the low word: (loLo >>> 16) + low halves of both cross products, each < 2^16.
  const carry = ((loLo >>> 16) + (cross1 & 0xffff) + (cross2 & 0xffff)) >>> 16;
  return (aHi * bHi + (cross1 >>> 16) + (cross2 >>> 16) + carry) >>> 0;
}

/** One Philox4x32-10 block: four output words for counter (c0..c3) and key (k0, k1), all uint32. */
export function philox4x32(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number): [number, number, number, number] {
  for (let round = 0; round < 10; round++) {
    const hi0 = mulhi(M0, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi(M1, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  return [c0, c1, c2, c3];
}

/** JSON-serialisable position in a Philox stream. */
export interface PhiloxState {
  /** The 64-bit seed as a decimal string (a JS number cannot hold every 64-bit value). */
  seed: string;
  /** 32-bit words consumed so far. */
  offset: number;
}

export class Philox {
  private readonly seed: bigint;
  private readonly k0: number;
  private readonly k1: number;
  private offset = 0;

  constructor(seed: number | bigint) {
    const s = BigInt(seed);
    if (s < 0n || s >= 1n << 64n) throw new RangeError(`Philox seed must be a 64-bit unsigned integer, got ${seed}`);
    this.seed = s;
    this.k0 = Number(s & 0xffffffffn);
    this.k1 = Number(s >> 32n);
  }

  static fromState(state: PhiloxState): Philox {
    if (!Number.isSafeInteger(state.offset) || state.offset < 0) throw new RangeError(`bad Philox offset ${state.offset}`);
    const generator = new Philox(BigInt(state.seed));
    generator.offset = state.offset;
    return generator;
  }

  state(): PhiloxState {
    return { seed: this.seed.toString(), offset: this.offset };
  }

  /** The next n raw 32-bit words. */
  words(n: number): Uint32Array {
    const out = new Uint32Array(n);
    let block = Math.floor(this.offset / 4);
    let lane = this.offset % 4;
    let i = 0;
    while (i < n) {
      const bits = philox4x32(block % TWO_POW_32, Math.floor(block / TWO_POW_32), 0, 0, this.k0, this.k1);
      for (; lane < 4 && i < n; lane++) out[i++] = bits[lane]!;
      lane = 0;
      block++;
    }
    this.offset += n;
    return out;
  }

  /** n uniforms in the open interval (0, 1), one word each: (w + 0.5) / 2^32, exact in a double. */
  uniform(n: number): Float64Array {
    const words = this.words(n);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = (words[i]! + 0.5) / TWO_POW_32;
    return out;
  }

  /**
   * n standard normals by Box-Muller: each pair of words (u1, u2) gives r·cos(2πu2) and r·sin(2πu2)
   * with r = sqrt(-2 ln u1). An odd n discards the last sine so the stream stays pair-aligned.
   */
  normal(n: number): Float32Array {
    const u = this.uniform(n + (n % 2));
    const out = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      const r = Math.sqrt(-2 * Math.log(u[i]!));
      const theta = 2 * Math.PI * u[i + 1]!;
      out[i] = r * Math.cos(theta);
      if (i + 1 < n) out[i + 1] = r * Math.sin(theta);
    }
    return out;
  }
}
