// torch.randn on a CPU generator (float32), so a seed gives the same starting noise as diffusers with
// `generator=torch.Generator('cpu').manual_seed(seed)`. Follows ATen:
//  - CPUGeneratorImpl: a mt19937 seeded with the low 32 bits of the seed; random() is one 32-bit
//    output, random64() two outputs (first = high word);
//  - DistributionTemplates.h normal_kernel: float tensors with >= 16 elements take normal_fill (all
//    uniforms first, then Box-Muller in blocks of 16; a ragged tail redraws 16 fresh uniforms for the last
//    16 elements), smaller ones draw each element from normal_distribution<double>, which caches the
//    second value of each Box-Muller pair in the generator;
//  - TransformationHelper.h uniform_real: float uniforms keep 24 bits, double uniforms 53.
// The >= 16 path reproduces the x86 AVX2 kernel (normal_fill_AVX2), which evaluates log and sincos
// with the Cephes polynomials of avx_mathfun.h in float32; GCC fuses its multiply-adds into FMAs, and
// so does this code (a float product is exact in a double, so a*b + c rounds once before fround).
// Torch builds without that kernel (ARM, AVX-512 dispatch) use libm and differ in the last bits.

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

/** The standard 32-bit Mersenne Twister, as at::mt19937 implements it. */
class Mt19937 {
  private readonly state = new Uint32Array(N);
  private index = N;

  constructor(seed: number) {
    const s = this.state;
    s[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = s[i - 1]!;
      s[i] = (Math.imul(1812433253, prev ^ (prev >>> 30)) + i) >>> 0;
    }
  }

  next(): number {
    if (this.index >= N) this.twist();
    let y = this.state[this.index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  private twist(): void {
    const s = this.state;
    for (let i = 0; i < N; i++) {
      const y = (s[i]! & UPPER_MASK) | (s[(i + 1) % N]! & LOWER_MASK);
      s[i] = s[(i + M) % N]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    this.index = 0;
  }
}

export class TorchGenerator {
  private readonly engine: Mt19937;
  /** normal_distribution<double>'s cached second Box-Muller value (next_double_normal_sample). */
  private cachedNormal: number | undefined;

  /** Like manual_seed: any integer, taken modulo 2^64; mt19937 uses its low 32 bits. */
  constructor(seed: number | bigint) {
    this.engine = new Mt19937(Number(BigInt.asUintN(32, BigInt(seed))));
  }

  randn(shape: number[]): Float32Array {
    const n = shape.reduce((a, b) => a * b, 1);
    const out = new Float32Array(n);
    if (n >= 16) this.normalFill(out);
    else for (let i = 0; i < n; i++) out[i] = this.normalDouble();
    return out;
  }

  private uniformFloat(): number {
    return (this.engine.next() & 0xffffff) / 16777216;
  }

  private uniformDouble(): number {
    const hi = this.engine.next();
    const lo = this.engine.next();
    return ((hi & 0x1fffff) * 4294967296 + lo) / 9007199254740992;
  }

  private normalDouble(): number {
    if (this.cachedNormal !== undefined) {
      const value = this.cachedNormal;
      this.cachedNormal = undefined;
      return value;
    }
    const u1 = this.uniformDouble();
    const u2 = this.uniformDouble();
    const r = Math.sqrt(-2 * Math.log(1 - u2));
    const theta = 2 * Math.PI * u1;
    this.cachedNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  private normalFill(data: Float32Array): void {
    const n = data.length;
    for (let i = 0; i < n; i++) data[i] = this.uniformFloat();
    for (let i = 0; i + 16 <= n; i += 16) boxMuller16(data, i);
    if (n % 16 !== 0) {
      const start = n - 16;
      for (let i = start; i < n; i++) data[i] = this.uniformFloat();
      boxMuller16(data, start);
    }
  }
}

/** normal_fill_16_AVX2: elements j and j+8 of a block of 16 uniforms become one Box-Muller pair. */
function boxMuller16(data: Float32Array, start: number): void {
  for (let j = start; j < start + 8; j++) {
    const u1 = f32(1 - data[j]!);
    const radius = f32(Math.sqrt(f32(-2 * logAvx2(u1))));
    const theta = f32(TWO_PI * data[j + 8]!);
    const [sin, cos] = sinCosAvx2(theta);
    data[j] = f32(radius * cos);
    data[j + 8] = f32(radius * sin);
  }
}

const f32 = Math.fround;
const fma = (a: number, b: number, c: number): number => f32(a * b + c);
const TWO_PI = f32(2 * Math.PI);

const bitsView = new DataView(new ArrayBuffer(4));
function floatBits(x: number): number {
  bitsView.setFloat32(0, x);
  return bitsView.getUint32(0);
}
function bitsFloat(bits: number): number {
  bitsView.setUint32(0, bits >>> 0);
  return bitsView.getFloat32(0);
}

const LOG_P = [
  7.0376836292e-2, -1.151461031e-1, 1.167699874e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1,
  2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1,
].map(f32);
const SQRT_HALF = f32(0.707106781186547524);
const LOG_Q1 = f32(-2.1219444e-4);
const LOG_Q2 = f32(0.693359375);
const MIN_NORMAL = bitsFloat(0x00800000);

/** log256_ps for one positive float. */
function logAvx2(input: number): number {
  const bits = floatBits(Math.max(input, MIN_NORMAL));
  let e = f32((bits >>> 23) - 0x7f + 1);
  // Mantissa scaled into [0.5, 1).
  let x = bitsFloat((bits & ~0x7f800000) | 0x3f000000);
  if (x < SQRT_HALF) {
    e = f32(e - 1);
    x = f32(f32(x - 1) + x);
  } else {
    x = f32(x - 1);
  }
  const z = f32(x * x);
  let y = LOG_P[0]!;
  for (let i = 1; i < LOG_P.length; i++) y = fma(y, x, LOG_P[i]!);
  y = f32(f32(y * x) * z);
  y = fma(e, LOG_Q1, y);
  y = fma(-z, 0.5, y);
  x = f32(x + y);
  return fma(e, LOG_Q2, x);
}

const DP1 = f32(-0.78515625);
const DP2 = f32(-2.4187564849853515625e-4);
const DP3 = f32(-3.77489497744594108e-8);
const SIN_P = [-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1].map(f32);
const COS_P = [2.443315711809948e-5, -1.388731625493765e-3, 4.166664568298827e-2].map(f32);
const FOUR_OVER_PI = f32(1.27323954473516);

/** sincos256_ps for one non-negative float: [sin, cos]. */
function sinCosAvx2(input: number): [number, number] {
  // Octant j (rounded up to even) and the argument reduced by j·π/4 in three parts.
  const j = (Math.trunc(f32(input * FOUR_OVER_PI)) + 1) & ~1;
  let x = fma(j, DP1, input);
  x = fma(j, DP2, x);
  x = fma(j, DP3, x);
  const z = f32(x * x);
  let cosPoly = fma(fma(COS_P[0]!, z, COS_P[1]!), z, COS_P[2]!);
  cosPoly = f32(f32(cosPoly * z) * z);
  cosPoly = f32(fma(-z, 0.5, cosPoly) + 1);
  let sinPoly = fma(fma(SIN_P[0]!, z, SIN_P[1]!), z, SIN_P[2]!);
  sinPoly = fma(f32(sinPoly * z), x, x);
  const swap = (j & 2) !== 0;
  const sin = swap ? cosPoly : sinPoly;
  const cos = swap ? sinPoly : cosPoly;
  return [j & 4 ? -sin : sin, (j - 2) & 4 ? cos : -cos];
}
