// The training noise schedule (betas, ᾱ) as diffusers builds it: values computed in float64 and stored as
// float32 like its torch tensors; the cumulative product accumulates in float64 (what torch's CPU cumprod
// does for float32) and is cast per element, which reproduces diffusers' ᾱ table bit for bit.
import { f32, linspace } from './numeric';

export type BetaSchedule = 'linear' | 'scaled_linear' | 'squaredcos_cap_v2';

export interface BetaConfig {
  numTrainTimesteps: number;
  betaStart: number;
  betaEnd: number;
  betaSchedule: BetaSchedule;
  trainedBetas: readonly number[] | null;
  rescaleBetasZeroSnr: boolean;
}

export function makeBetas(c: BetaConfig): Float32Array {
  const n = c.numTrainTimesteps;
  let betas: Float32Array;
  if (c.trainedBetas) {
    betas = Float32Array.from(c.trainedBetas);
  } else if (c.betaSchedule === 'linear') {
    betas = Float32Array.from(linspace(c.betaStart, c.betaEnd, n));
  } else if (c.betaSchedule === 'scaled_linear') {
    // Latent diffusion's schedule: linear in sqrt(beta), squared in float32.
    betas = Float32Array.from(linspace(Math.sqrt(c.betaStart), Math.sqrt(c.betaEnd), n), (v) => f32(f32(v) * f32(v)));
  } else {
    betas = Float32Array.from(cosineBetas(n));
  }
  return c.rescaleBetasZeroSnr ? rescaleZeroTerminalSnr(betas) : betas;
}

/** GLIDE's cosine schedule (diffusers' betas_for_alpha_bar, cosine transform, max_beta 0.999). */
function cosineBetas(n: number): number[] {
  const alphaBar = (t: number) => Math.cos(((t + 0.008) / 1.008) * Math.PI / 2) ** 2;
  return Array.from({ length: n }, (_, i) => Math.min(1 - alphaBar((i + 1) / n) / alphaBar(i / n), 0.999));
}

/** Lin et al. 2023 ("Common diffusion noise schedules are flawed"): shift sqrt(ᾱ) so the last step has SNR 0. */
function rescaleZeroTerminalSnr(betas: Float32Array): Float32Array {
  const sqrtAbar = alphasCumprodF64(betas).map(Math.sqrt);
  const first = sqrtAbar[0]!;
  const last = sqrtAbar[sqrtAbar.length - 1]!;
  const abar = sqrtAbar.map((s) => (((s - last) * first) / (first - last)) ** 2);
  return Float32Array.from(abar, (a, i) => 1 - (i === 0 ? a : a / abar[i - 1]!));
}

function alphasCumprodF64(betas: Float32Array): number[] {
  let acc = 1;
  return Array.from(betas, (b) => (acc *= f32(1 - b)));
}

export function makeAlphasCumprod(betas: Float32Array): Float32Array {
  return Float32Array.from(alphasCumprodF64(betas));
}

/** Coefficients of a noising: x_t = sample · x0 + noise · ε. */
export interface NoiseCoefficients {
  sample: number;
  noise: number;
}

/** DDPM's add_noise at training timestep t: sqrt(ᾱ_t) · x0 + sqrt(1 − ᾱ_t) · ε. */
export function addNoiseCoefficients(alphasCumprod: Float32Array, t: number): NoiseCoefficients {
  const a = tableAt(alphasCumprod, t);
  return { sample: Math.sqrt(a), noise: Math.sqrt(1 - a) };
}

/** get_velocity, the v-prediction target: v = sqrt(ᾱ_t) · ε − sqrt(1 − ᾱ_t) · x0. */
export function velocityCoefficients(alphasCumprod: Float32Array, t: number): NoiseCoefficients {
  const a = tableAt(alphasCumprod, t);
  return { sample: -Math.sqrt(1 - a), noise: Math.sqrt(a) };
}

export function tableAt(table: Float32Array, t: number): number {
  if (!Number.isInteger(t) || t < 0 || t >= table.length) {
    throw new RangeError(`timestep ${t} is not an integer in [0, ${table.length - 1}]`);
  }
  return table[t]!;
}
