// scheduler-step: one denoising step of any scheduler, with classifier-free guidance folded in, as the
// linear "step plan" of src/schedulers/plan.ts:
//   M  = guided model output: U + g·(C − U) with U = model[i], C = model[n + i] (CFG batch [uncond; cond]),
//        or model[i] when CFG is off
//   X  = x0 combo of (S, M, H[k]), then clamped to ±range when CLAMP
//   S' = out combo of (S, M, H[k], X, N);  H[k]' = write combo k (S, M, H[k], X) for each written slot
// Every operand of an element is read before any write, so history updates in place.
// Layout: flat over the n elements of the sample (NHWC latents, any batch); history is one tensor
//         [slots, n]. Coefficients (storage, f32): x0 combo, out combo, then per slot [written, combo],
//         each combo = [sample, model, h_0 .. h_(slots-1), x0, noise].
// Tiling: one element per invocation, 256 per workgroup, 2D grid (groupsX per row).
// Precision: f32 (the schedulers' tables are float64 on the host, cast once).
// Bindings: 0 sample, 1 model, 2 noise (1-element placeholder when unused), 3 coefficients (read);
//           4 next sample, 5 x0 (write); 6 history (read_write); 7 uniforms
//           { n, slots, guidance, cfg, clamp, range, groupsX }.
const MAX_SLOTS: u32 = 8u;

struct Params {
  n: u32,
  slots: u32,
  guidance: f32,
  cfg: u32,
  clamp: u32,
  range: f32,
  groupsX: u32,
}

@group(0) @binding(0) var<storage, read> sample: array<f32>;
@group(0) @binding(1) var<storage, read> model: array<f32>;
@group(0) @binding(2) var<storage, read> noise: array<f32>;
@group(0) @binding(3) var<storage, read> coef: array<f32>;
@group(0) @binding(4) var<storage, read_write> nextSample: array<f32>;
@group(0) @binding(5) var<storage, read_write> x0Out: array<f32>;
@group(0) @binding(6) var<storage, read_write> history: array<f32>;
@group(0) @binding(7) var<uniform> params: Params;

fn combine(base: u32, s: f32, m: f32, h: ptr<function, array<f32, MAX_SLOTS>>, x0: f32, nz: f32) -> f32 {
  var v = coef[base] * s + coef[base + 1u] * m;
  for (var k = 0u; k < params.slots; k++) {
    let c = coef[base + 2u + k];
    if (c != 0.0) {
      v += c * (*h)[k];
    }
  }
  // Zero terms are skipped so an unused operand (e.g. an inf x0) cannot turn the sum into NaN.
  let cx = coef[base + 2u + params.slots];
  if (cx != 0.0) {
    v += cx * x0;
  }
  let cn = coef[base + 3u + params.slots];
  if (cn != 0.0) {
    v += cn * nz;
  }
  return v;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.y * params.groupsX * 256u + gid.x;
  if (i >= params.n) {
    return;
  }
  let s = sample[i];
  var m = model[i];
  if (params.cfg != 0u) {
    m = m + params.guidance * (model[params.n + i] - m);
  }
  var h: array<f32, MAX_SLOTS>;
  for (var k = 0u; k < params.slots; k++) {
    h[k] = history[k * params.n + i];
  }
  let stride = params.slots + 4u;
  var x0 = combine(0u, s, m, &h, 0.0, 0.0);
  if (params.clamp != 0u) {
    x0 = clamp(x0, -params.range, params.range);
  }
  var nz = 0.0;
  if (arrayLength(&noise) >= params.n) {
    nz = noise[i];
  }
  nextSample[i] = combine(stride, s, m, &h, x0, nz);
  x0Out[i] = x0;
  for (var k = 0u; k < params.slots; k++) {
    let base = 2u * stride + k * (stride + 1u);
    if (coef[base] != 0.0) {
      history[k * params.n + i] = combine(base + 1u, s, m, &h, x0, 0.0);
    }
  }
}
