// An independent float64 transcription of diffusers 0.30.3's schedulers, written in diffusers' own stateful
// shape (ets lists, model_outputs, step_index) and operating on whole arrays, with the injected noise passed
// in explicitly. It shares no code with src/schedulers: the plan-based schedulers are tested against it.
const f32 = Math.fround;
type Arr = Float64Array;

export interface RefConfig {
  N?: number;
  betaStart?: number;
  betaEnd?: number;
  schedule?: 'linear' | 'scaled_linear' | 'squaredcos_cap_v2';
  prediction?: 'epsilon' | 'v_prediction' | 'sample';
  spacing?: 'leading' | 'trailing' | 'linspace';
  offset?: number;
}

const SD = { N: 1000, betaStart: 0.00085, betaEnd: 0.012, schedule: 'scaled_linear' as const };

function npRound(x: number): number {
  const fl = Math.floor(x);
  const d = x - fl;
  if (d > 0.5) return fl + 1;
  if (d < 0.5) return fl;
  return fl % 2 === 0 ? fl : fl + 1;
}

function npLinspace(a: number, b: number, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(i === n - 1 ? b : a + (i * (b - a)) / (n - 1));
  return out;
}

function npArangeDown(start: number, step: number): number[] {
  const out: number[] = [];
  for (let i = 0; start - i * step > 0; i++) out.push(start - i * step);
  return out;
}

function npInterp(x: number, fp: ArrayLike<number>): number {
  if (x <= 0) return fp[0]!;
  if (x >= fp.length - 1) return fp[fp.length - 1]!;
  const i = Math.floor(x);
  return fp[i]! + (fp[i + 1]! - fp[i]!) * (x - i);
}

export function refAlphasCumprod(c: RefConfig): Float64Array {
  const { N, betaStart, betaEnd, schedule } = { ...SD, ...c };
  let betas: number[];
  if (schedule === 'linear') betas = npLinspace(betaStart, betaEnd, N);
  else if (schedule === 'scaled_linear') betas = npLinspace(betaStart ** 0.5, betaEnd ** 0.5, N).map((b) => b * b);
  else {
    const ab = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
    betas = Array.from({ length: N }, (_, i) => Math.min(1 - ab((i + 1) / N) / ab(i / N), 0.999));
  }
  let p = 1;
  return Float64Array.from(betas, (b) => f32((p *= f32(1 - f32(b)))));
}

function spacing(c: RefConfig, n: number, round: boolean): number[] {
  const { N } = { ...SD, ...c };
  const offset = c.offset ?? 0;
  if (c.spacing === 'linspace') return npLinspace(0, N - 1, n).map((t) => (round ? npRound(t) : t)).reverse();
  if (c.spacing === 'trailing') return npArangeDown(N, N / n).map((t) => npRound(t) - 1);
  const ratio = Math.floor(N / n);
  return Array.from({ length: n }, (_, i) => i * ratio + offset).reverse();
}

const map2 = (a: Arr, b: Arr, f: (x: number, y: number) => number) => a.map((x, i) => f(x, b[i]!));

function threshold(x0: Arr, batch: number, ratio: number, maxValue: number): Arr {
  const per = x0.length / batch;
  const out = new Float64Array(x0.length);
  for (let b = 0; b < batch; b++) {
    const part = x0.slice(b * per, (b + 1) * per);
    const sorted = part.map(Math.abs).sort();
    const pos = ratio * (per - 1);
    const lo = Math.floor(pos);
    let s = sorted[lo]! + (pos - lo) * (sorted[Math.min(lo + 1, per - 1)]! - sorted[lo]!);
    s = Math.min(Math.max(s, 1), maxValue);
    part.forEach((v, i) => (out[b * per + i] = Math.min(Math.max(v, -s), s) / s));
  }
  return out;
}

export class RefDdim {
  readonly acp: Float64Array;
  readonly timesteps: number[];
  constructor(
    readonly c: RefConfig & { clipSample?: boolean; thresholding?: { batch: number; ratio: number; max: number } },
    readonly n: number,
  ) {
    this.acp = refAlphasCumprod(c);
    this.timesteps = spacing(c, n, true);
  }
  step(mo: Arr, t: number, sample: Arr, eta: number, noise: Arr | null): Arr {
    const prev = t - Math.floor((this.c.N ?? 1000) / this.n);
    const a = this.acp[t]!;
    const ap = prev >= 0 ? this.acp[prev]! : this.acp[0]!; // set_alpha_to_one = false
    const b = 1 - a;
    let x0: Arr;
    let eps: Arr;
    const p = this.c.prediction ?? 'epsilon';
    if (p === 'epsilon') {
      x0 = map2(sample, mo, (s, m) => (s - b ** 0.5 * m) / a ** 0.5);
      eps = mo;
    } else if (p === 'sample') {
      x0 = mo;
      eps = map2(sample, x0, (s, x) => (s - a ** 0.5 * x) / b ** 0.5);
    } else {
      x0 = map2(sample, mo, (s, m) => a ** 0.5 * s - b ** 0.5 * m);
      eps = map2(mo, sample, (m, s) => a ** 0.5 * m + b ** 0.5 * s);
    }
    if (this.c.thresholding) x0 = threshold(x0, this.c.thresholding.batch, this.c.thresholding.ratio, this.c.thresholding.max);
    else if (this.c.clipSample) x0 = x0.map((v) => Math.min(1, Math.max(-1, v)));
    const variance = ((1 - ap) / b) * (1 - a / ap);
    const std = eta * variance ** 0.5;
    const out = map2(x0, eps, (x, e) => ap ** 0.5 * x + (1 - ap - std ** 2) ** 0.5 * e);
    return eta > 0 ? map2(out, noise!, (o, z) => o + std * z) : out;
  }
}

export class RefDdpm {
  readonly acp: Float64Array;
  readonly timesteps: number[];
  constructor(readonly c: RefConfig & { variance?: 'fixed_small' | 'fixed_small_log' | 'fixed_large' }, n: number) {
    this.acp = refAlphasCumprod(c);
    this.timesteps = spacing(c, n, true);
  }
  step(mo: Arr, t: number, sample: Arr, noise: Arr): Arr {
    const idx = this.timesteps.indexOf(t);
    const prevT = idx === this.timesteps.length - 1 ? -1 : this.timesteps[idx + 1]!;
    const a = this.acp[t]!;
    const ap = prevT >= 0 ? this.acp[prevT]! : 1;
    const ca = a / ap;
    const cb = 1 - ca;
    const x0 =
      (this.c.prediction ?? 'epsilon') === 'epsilon'
        ? map2(sample, mo, (s, m) => (s - (1 - a) ** 0.5 * m) / a ** 0.5)
        : map2(sample, mo, (s, m) => a ** 0.5 * s - (1 - a) ** 0.5 * m);
    const mean = map2(x0, sample, (x, s) => ((ap ** 0.5 * cb) / (1 - a)) * x + ((ca ** 0.5 * (1 - ap)) / (1 - a)) * s);
    if (t <= 0) return mean;
    const v = Math.max(((1 - ap) / (1 - a)) * cb, 1e-20);
    const kind = this.c.variance ?? 'fixed_small';
    const std = kind === 'fixed_small' ? v ** 0.5 : kind === 'fixed_small_log' ? Math.exp(0.5 * Math.log(v)) : cb ** 0.5;
    return map2(mean, noise, (m, z) => m + std * z);
  }
}

export class RefPndm {
  readonly acp: Float64Array;
  readonly timesteps: number[];
  private ets: Arr[] = [];
  private counter = 0;
  private curSample: Arr | null = null;
  constructor(readonly c: RefConfig, readonly n: number) {
    this.acp = refAlphasCumprod(c);
    const base = spacing(c, n, true).reverse();
    this.timesteps = [...base.slice(0, -1), base[base.length - 2]!, base[base.length - 1]!].reverse();
  }
  step(mo: Arr, timestep: number, sample: Arr): Arr {
    const r = Math.floor((this.c.N ?? 1000) / this.n);
    let prev = timestep - r;
    let t = timestep;
    if (this.counter !== 1) this.ets.push(mo);
    else {
      prev = timestep;
      t = timestep + r;
    }
    const e = this.ets;
    const L = e.length;
    let m: Arr;
    if (L === 1 && this.counter === 0) {
      m = mo;
      this.curSample = sample;
    } else if (L === 1 && this.counter === 1) {
      m = map2(mo, e[L - 1]!, (x, y) => (x + y) / 2);
      sample = this.curSample!;
      this.curSample = null;
    } else if (L === 2) m = map2(e[1]!, e[0]!, (x, y) => (3 * x - y) / 2);
    else if (L === 3) m = e[2]!.map((x, i) => (23 * x - 16 * e[1]![i]! + 5 * e[0]![i]!) / 12);
    else m = e[L - 1]!.map((x, i) => (55 * x - 59 * e[L - 2]![i]! + 37 * e[L - 3]![i]! - 9 * e[L - 4]![i]!) / 24);
    const a = this.acp[t]!;
    const ap = prev >= 0 ? this.acp[prev]! : this.acp[0]!;
    const b = 1 - a;
    const bp = 1 - ap;
    if (this.c.prediction === 'v_prediction') m = map2(m, sample, (v, s) => a ** 0.5 * v + b ** 0.5 * s);
    const denom = a * bp ** 0.5 + (a * b * ap) ** 0.5;
    this.counter++;
    return map2(sample, m, (s, x) => (ap / a) ** 0.5 * s - ((ap - a) * x) / denom);
  }
}

function sigmaTable(acp: Float64Array): Float64Array {
  return acp.map((a) => f32(((1 - a) / a) ** 0.5));
}

function karras(sMin: number, sMax: number, n: number): number[] {
  const rho = 7;
  return npLinspace(0, 1, n).map((r) => (sMax ** (1 / rho) + r * (sMin ** (1 / rho) - sMax ** (1 / rho))) ** rho);
}

function sigmaToT(sigma: number, logSigmas: Float64Array): number {
  const ls = Math.log(Math.max(sigma, 1e-10));
  let cum = 0;
  let best = -1;
  let low = 0;
  logSigmas.forEach((l, i) => {
    cum += ls - l >= 0 ? 1 : 0;
    if (cum > best) {
      best = cum;
      low = i;
    }
  });
  low = Math.min(low, logSigmas.length - 2);
  const lo = logSigmas[low]!;
  const hi = logSigmas[low + 1]!;
  const w = Math.min(Math.max((lo - ls) / (lo - hi), 0), 1);
  return (1 - w) * low + w * (low + 1);
}

export class RefEuler {
  readonly timesteps: number[];
  readonly sigmas: number[];
  stepIndex = 0;
  constructor(
    readonly c: RefConfig & { karras?: boolean; ancestral?: boolean },
    n: number,
  ) {
    const acp = refAlphasCumprod(c);
    const table = sigmaTable(acp);
    let ts = spacing({ spacing: 'linspace', ...c }, n, false).map(f32);
    let s = ts.map((t) => npInterp(t, table));
    if (c.karras) {
      s = karras(s[s.length - 1]!, s[0]!, n);
      const logs = table.map((x) => f32(Math.log(x)));
      ts = s.map((x) => sigmaToT(x, logs));
    }
    this.timesteps = ts.map(f32);
    this.sigmas = [...s, 0].map(f32);
  }
  get initNoiseSigma(): number {
    const m = Math.max(...this.sigmas);
    return this.c.spacing === 'leading' ? (m * m + 1) ** 0.5 : m;
  }
  scale(sample: Arr): Arr {
    const s = this.sigmas[this.stepIndex]!;
    return sample.map((x) => x / (s * s + 1) ** 0.5);
  }
  step(mo: Arr, sample: Arr, noise: Arr): Arr {
    const sigma = this.sigmas[this.stepIndex]!;
    const x0 =
      (this.c.prediction ?? 'epsilon') === 'epsilon'
        ? map2(sample, mo, (s, m) => s - sigma * m)
        : map2(mo, sample, (m, s) => m * (-sigma / (sigma ** 2 + 1) ** 0.5) + s / (sigma ** 2 + 1));
    const deriv = map2(sample, x0, (s, x) => (s - x) / sigma);
    const to = this.sigmas[this.stepIndex + 1]!;
    this.stepIndex++;
    if (!this.c.ancestral) return map2(sample, deriv, (s, d) => s + d * (to - sigma));
    const up = ((to ** 2 * (sigma ** 2 - to ** 2)) / sigma ** 2) ** 0.5;
    const down = (to ** 2 - up ** 2) ** 0.5;
    return sample.map((s, i) => s + deriv[i]! * (down - sigma) + noise[i]! * up);
  }
}

export class RefDpmpp2m {
  readonly timesteps: number[];
  readonly sigmas: number[];
  private stepIndex = 0;
  private lowerOrderNums = 0;
  private outputs: (Arr | null)[] = [null, null];
  constructor(
    readonly c: RefConfig & { karras?: boolean; solverType?: 'midpoint' | 'heun'; finalSigmas?: 'zero' | 'sigma_min' },
    n: number,
  ) {
    const acp = refAlphasCumprod(c);
    const table = sigmaTable(acp);
    const N = c.N ?? 1000;
    const sp = c.spacing ?? 'linspace';
    let ts: number[];
    if (sp === 'linspace') ts = npLinspace(0, N - 1, n + 1).map(npRound).reverse().slice(0, -1);
    else if (sp === 'leading') {
      const ratio = Math.floor(N / (n + 1));
      ts = Array.from({ length: n + 1 }, (_, i) => i * ratio).reverse().slice(0, -1).map((t) => t + (c.offset ?? 0));
    } else ts = npArangeDown(N, N / n).map((t) => npRound(t) - 1);
    let s: number[];
    if (c.karras) {
      s = karras(table[0]!, table[N - 1]!, n);
      const logs = table.map((x) => f32(Math.log(x)));
      ts = s.map((x) => npRound(sigmaToT(x, logs)));
    } else s = ts.map((t) => npInterp(t, table));
    this.timesteps = ts;
    this.sigmas = [...s, c.finalSigmas === 'sigma_min' ? table[0]! : 0].map(f32);
  }
  private as(sigma: number): [number, number] {
    const a = 1 / (sigma ** 2 + 1) ** 0.5;
    return [a, sigma * a];
  }
  step(mo: Arr, sample: Arr): Arr {
    const L = this.timesteps.length;
    const lowerFinal = this.stepIndex === L - 1 && (L < 15 || (this.c.finalSigmas ?? 'zero') === 'zero');
    const [as0, ss0] = this.as(this.sigmas[this.stepIndex]!);
    const p = this.c.prediction ?? 'epsilon';
    const x0 =
      p === 'epsilon' ? map2(sample, mo, (s, m) => (s - ss0 * m) / as0) : p === 'sample' ? mo : map2(sample, mo, (s, m) => as0 * s - ss0 * m);
    this.outputs = [this.outputs[1]!, x0];
    const [at, st] = this.as(this.sigmas[this.stepIndex + 1]!);
    const lt = Math.log(at) - Math.log(st);
    const l0 = Math.log(as0) - Math.log(ss0);
    const h = lt - l0;
    let out: Arr;
    if (this.lowerOrderNums < 1 || lowerFinal) {
      out = map2(sample, x0, (s, x) => (st / ss0) * s - at * (Math.exp(-h) - 1) * x);
    } else {
      const [as1, ss1] = this.as(this.sigmas[this.stepIndex - 1]!);
      const l1 = Math.log(as1) - Math.log(ss1);
      const r0 = (l0 - l1) / h;
      const m0 = this.outputs[1]!;
      const m1 = this.outputs[0]!;
      const D1 = map2(m0, m1, (a, b) => (1 / r0) * (a - b));
      out =
        this.c.solverType === 'heun'
          ? sample.map((s, i) => (st / ss0) * s - at * (Math.exp(-h) - 1) * m0[i]! + at * ((Math.exp(-h) - 1) / h + 1) * D1[i]!)
          : sample.map((s, i) => (st / ss0) * s - at * (Math.exp(-h) - 1) * m0[i]! - 0.5 * at * (Math.exp(-h) - 1) * D1[i]!);
    }
    if (this.lowerOrderNums < 2) this.lowerOrderNums++;
    this.stepIndex++;
    return out;
  }
}
