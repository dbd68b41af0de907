// adamw: one fused AdamW step, in place on the f32 master weights and both moments (torch.optim.AdamW:
// decoupled weight decay p *= 1 - lr·wd, then the bias-corrected Adam update), optionally refreshing the
// f16 working copy of the weights in the same pass.
// Layout: flat; invocation i owns elements 2i and 2i+1 (so it can write one packed word of halves).
// Tiling: 256 threads per workgroup, 2D grid (groupsX per row) for tensors past the dispatch limit.
// Precision: f32 state and math; the gradient is scaled by coef[0] (loss scale, accumulation and clipping
//            folded in); coef[1] == 0 means a gradient was inf/NaN: nothing is written (step skipped).
// Bindings: 0 grad (read), 1 coef [3] (read), 2 param, 3 m, 4 v, 5 half copy as u32 words (all read_write;
//           the half copy is a 1-word placeholder unless HALF_COPY), 6 uniforms
//           { count, groupsX, lr, beta1, beta2, oneMinusBeta1, oneMinusBeta2, eps, weightDecay, biasCorrection1,
//           biasCorrection2 } (1 − β computed in double on the host, as torch does: f32(1 − f32(0.999)) is 1.3e-5 off).
override HALF_COPY: bool = false;

struct Params {
  count: u32,
  groupsX: u32,
  lr: f32,
  beta1: f32,
  beta2: f32,
  oneMinusBeta1: f32,
  oneMinusBeta2: f32,
  eps: f32,
  weightDecay: f32,
  biasCorrection1: f32,
  biasCorrection2: f32,
}

@group(0) @binding(0) var<storage, read> grad: array<f32>;
@group(0) @binding(1) var<storage, read> coef: array<f32>;
@group(0) @binding(2) var<storage, read_write> param: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@group(0) @binding(5) var<storage, read_write> halfCopy: array<u32>;
@group(0) @binding(6) var<uniform> params: Params;

fn update(i: u32) -> f32 {
  let g = grad[i] * coef[0];
  let mi = params.beta1 * m[i] + params.oneMinusBeta1 * g;
  let vi = params.beta2 * v[i] + params.oneMinusBeta2 * g * g;
  m[i] = mi;
  v[i] = vi;
  let denom = sqrt(vi) / sqrt(params.biasCorrection2) + params.eps;
  let p = param[i] * (1.0 - params.lr * params.weightDecay) - (params.lr / params.biasCorrection1) * (mi / denom);
  param[i] = p;
  return p;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let pair = gid.y * params.groupsX * 256u + gid.x;
  let i = 2u * pair;
  if (i >= params.count || coef[1] == 0.0) {
    return;
  }
  let a = update(i);
  var b = 0.0;
  if (i + 1u < params.count) {
    b = update(i + 1u);
  }
  if (HALF_COPY) {
    halfCopy[pair] = pack2x16float(vec2f(a, b));
  }
}
