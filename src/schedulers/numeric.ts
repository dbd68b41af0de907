// NumPy-exact helpers for building schedules. diffusers builds its timestep and sigma tables with numpy, so
// rounding (half to even), linspace/arange element formulas and np.interp are reproduced here; everything
// is float64 unless a table is explicitly cast with `f32` (where diffusers holds float32 tensors).

export const f32 = Math.fround;

/** np.round: round half to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round rounds .5 up; step back when that lands on an odd integer.
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** np.linspace(start, stop, num) (endpoint included): start + i * step, the last value exactly stop. */
export function linspace(start: number, stop: number, num: number): number[] {
  if (num === 1) return [start];
  const step = (stop - start) / (num - 1);
  const out = Array.from({ length: num }, (_, i) => start + i * step);
  out[num - 1] = stop;
  return out;
}

/** np.arange(start, stop, step) for floats: numpy fills start + i * delta with delta = (start + step) - start. */
export function arange(start: number, stop: number, step: number): number[] {
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const delta = start + step - start;
  return Array.from({ length: n }, (_, i) => (i === 0 ? start : start + i * delta));
}

/** np.interp(x, [0, 1, ..., table.length - 1], table). */
export function interpIndex(x: number, table: ArrayLike<number>): number {
  const last = table.length - 1;
  if (x <= 0) return table[0]!;
  if (x >= last) return table[last]!;
  const i = Math.floor(x);
  const w = x - i;
  // numpy's formula: slope * (x - xp[i]) + fp[i]
  return (table[i + 1]! - table[i]!) * w + table[i]!;
}

/**
 * The k-diffusion sigma table of a VP schedule, ascending in t: sqrt((1 - ᾱ) / ᾱ) evaluated in float32
 * like diffusers' torch expression.
 */
export function sigmaTable(alphasCumprod: Float32Array): Float32Array {
  return alphasCumprod.map((a) => f32(Math.sqrt(f32(f32(1 - a) / a))));
}

/** Karras et al. (2022) rho=7 spacing between sigmaMax and sigmaMin, `n` values, descending. */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, n: number): number[] {
  const rho = 7;
  const minInv = sigmaMin ** (1 / rho);
  const maxInv = sigmaMax ** (1 / rho);
  return linspace(0, 1, n).map((r) => (maxInv + r * (minInv - maxInv)) ** rho);
}

/**
 * diffusers' `_sigma_to_t`: the fractional timestep whose sigma is `sigma`, interpolating log sigma between the
 * two neighbouring table entries. `logSigmas` is np.log of the float32 sigma table (float32 too).
 */
export function sigmaToT(sigma: number, logSigmas: Float32Array): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10));
  // Last index whose log sigma is <= ours (0 if none), kept below the end so that low+1 exists.
  let low = 0;
  for (let i = 0; i < logSigmas.length; i++) if (logSigma - logSigmas[i]! >= 0) low = i;
  low = Math.min(low, logSigmas.length - 2);
  const lo = logSigmas[low]!;
  const hi = logSigmas[low + 1]!;
  const w = Math.min(1, Math.max(0, (lo - logSigma) / (lo - hi)));
  return (1 - w) * low + w * (low + 1);
}

/** np.log on a float32 array (result float32). */
export function logF32(values: Float32Array): Float32Array {
  return values.map((v) => f32(Math.log(v)));
}
