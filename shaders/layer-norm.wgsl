// layer-norm: normalise each row of x [rows, C] over its C values (C % 4 == 0), then gamma/beta per channel.
// Tiling: a workgroup of TPR x RPW invocations normalises RPW rows; the TPR invocations of a row hold its
//         channel vectors t, t + TPR, ... (VPT of them) in registers, so x is read once with coalesced
//         vec4 loads. TPR grows with C (few barriers per row on small rows, bounded registers on large).
// Precision: f32, two-pass from registers (mean, then mean of squared deviations), as torch's biased
//            variance; workgroup tree reductions per row. gamma/beta bound as array<u32>: f32 bits, or f16
//            halves packed two per word (override GAMMA_F16 / BETA_F16; unpack2x16float, no f16 extension).
// Grid: 2D (groupsX * y) over the row groups of this chunk; the wrapper chunks x past the binding limit.
// Bindings: 0 x, 1 gamma, 2 beta, 3 y, 4 Params.
const VPT: u32 = {{VPT}}u;

override TPR: u32 = 16u;
override RPW: u32 = 4u;
override GAMMA_F16: bool = false;
override BETA_F16: bool = false;

struct Params {
  cv: u32,
  rows: u32,
  eps: f32,
  groupsX: u32,
}

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> gamma: array<u32>;
@group(0) @binding(2) var<storage, read> beta: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> params: Params;

var<workgroup> partial: array<f32, TPR * RPW>;

// Sum over the TPR invocations of one row; every invocation of the workgroup must call it.
fn rowSum(v: f32, slot: u32, t: u32) -> f32 {
  partial[slot] = v;
  for (var half = TPR / 2u; half > 0u; half /= 2u) {
    workgroupBarrier();
    if (t < half) {
      partial[slot] += partial[slot + half];
    }
  }
  workgroupBarrier();
  let total = partial[slot - t];
  workgroupBarrier();
  return total;
}

fn gammaAt(c: u32) -> vec4<f32> {
  if (GAMMA_F16) {
    return vec4<f32>(unpack2x16float(gamma[2u * c]), unpack2x16float(gamma[2u * c + 1u]));
  }
  return bitcast<vec4<f32>>(vec4<u32>(gamma[4u * c], gamma[4u * c + 1u], gamma[4u * c + 2u], gamma[4u * c + 3u]));
}

fn betaAt(c: u32) -> vec4<f32> {
  if (BETA_F16) {
    return vec4<f32>(unpack2x16float(beta[2u * c]), unpack2x16float(beta[2u * c + 1u]));
  }
  return bitcast<vec4<f32>>(vec4<u32>(beta[4u * c], beta[4u * c + 1u], beta[4u * c + 2u], beta[4u * c + 3u]));
}

@compute @workgroup_size(TPR, RPW)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let t = lid.x;
  let slot = lid.y * TPR + t;
  let row = (wid.y * params.groupsX + wid.x) * RPW + lid.y;
  let live = row < params.rows;
  let base = min(row, params.rows - 1u) * params.cv;
  let cv = params.cv;
  var v: array<vec4<f32>, VPT>;
  var s = vec4<f32>(0.0);
  for (var k = 0u; k < VPT; k++) {
    let c = t + k * TPR;
    v[k] = select(vec4<f32>(0.0), x[base + min(c, cv - 1u)], c < cv);
    s += v[k];
  }
  let n = f32(4u * cv);
  let mean = rowSum(dot(s, vec4<f32>(1.0)), slot, t) / n;
  var q = vec4<f32>(0.0);
  for (var k = 0u; k < VPT; k++) {
    let d = select(vec4<f32>(0.0), v[k] - mean, t + k * TPR < cv);
    q += d * d;
  }
  let rstd = inverseSqrt(rowSum(dot(q, vec4<f32>(1.0)), slot, t) / n + params.eps);
  for (var k = 0u; k < VPT; k++) {
    let c = t + k * TPR;
    if (live && c < cv) {
      y[base + c] = (v[k] - mean) * rstd * gammaAt(c) + betaAt(c);
    }
  }
}
