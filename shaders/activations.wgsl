// activations: elementwise SiLU, GELU (erf and tanh forms), quick_gelu, GEGLU and add.
// Layout: flat f32 tensors read as `V` (vec4<f32> when the element count — for GEGLU the half width F,
//         for add the innermost collapsed dimension — is a multiple of 4, else f32).
// Tiling: one V per invocation, WG invocations per workgroup; the grid is 2D (groupsX * y) so tensors past
//         the per-dimension dispatch limit still run. Wrappers chunk tensors past the binding limit.
// Precision: f32. erf is a fitted minimax pair (|x| <= 1: x * P(x^2); 1 < |x| <= 4: 1 - exp(Q(|x|)))
//            with |error| < 2e-7 in f32 (WGSL has no erf; Abramowitz-Stegun 7.1.26 computes 1 - P exp(-x^2)
//            and cancels near 0 in f32). gelu-tanh uses the exact identity 1 + tanh(u) = 2 sigmoid(2u), which avoids
//            WGSL tanh's sinh/cosh overflow to NaN at large |u|.
// Entry points and bindings:
//   act:   0 x, 1 y, 2 ActParams; override ACT (0 none, 1 silu, 2 gelu, 3 gelu-tanh, 4 quick-gelu)
//   geglu: 0 x [rows, 2F], 1 y [rows, F] = x[:, :F] * gelu(x[:, F:]), 2 GegluParams
//   add:   0 a, 1 b, 2 y, 3 AddParams; override BROADCAST: false = same shape (a[i] + b[i]);
//          true = up to 4 collapsed dims with per-operand strides (0 on broadcast dims), where an operand
//          bound whole uses global indices and a chunk-sliced one subtracts its base.
alias V = {{V}};

override WG: u32 = 256u;
override ACT: u32 = 0u;
override BROADCAST: bool = false;

struct ActParams {
  count: u32,
  groupsX: u32,
}

struct GegluParams {
  count: u32,
  groupsX: u32,
  fv: u32,
}

struct AddParams {
  count: u32,
  groupsX: u32,
  offset: u32,
  d1: u32,
  d2: u32,
  d3: u32,
  sa0: u32,
  sa1: u32,
  sa2: u32,
  sa3: u32,
  sb0: u32,
  sb1: u32,
  sb2: u32,
  sb3: u32,
  aBase: u32,
  bBase: u32,
}

@group(0) @binding(0) var<storage, read> x: array<V>;
@group(0) @binding(1) var<storage, read_write> y: array<V>;
@group(0) @binding(2) var<uniform> actParams: ActParams;
@group(0) @binding(2) var<uniform> gegluParams: GegluParams;

@group(0) @binding(0) var<storage, read> a: array<V>;
@group(0) @binding(1) var<storage, read> b: array<V>;
@group(0) @binding(2) var<storage, read_write> sum: array<V>;
@group(0) @binding(3) var<uniform> addParams: AddParams;

fn sigmoid(v: V) -> V {
  return 1.0 / (1.0 + exp(-v));
}

fn erf(v: V) -> V {
  let s = v * v;
  var p = V(7.882497448e-05);
  p = p * s - 8.018855006e-04;
  p = p * s + 5.189312156e-03;
  p = p * s - 2.685432881e-02;
  p = p * s + 1.128359735e-01;
  p = p * s - 3.761262596e-01;
  p = p * s + 1.128379107e+00;
  let t = min(abs(v), V(4.0));
  var q = V(-1.330938994e-05);
  q = q * t + 3.175720340e-04;
  q = q * t - 3.436867613e-03;
  q = q * t + 2.262198552e-02;
  q = q * t - 1.033189818e-01;
  q = q * t - 6.390933394e-01;
  q = q * t - 1.125925899e+00;
  q = q * t - 7.569686277e-04;
  return select(sign(v) * (1.0 - exp(q)), p * v, abs(v) <= V(1.0));
}

fn gelu(v: V) -> V {
  return 0.5 * v * (1.0 + erf(v * 0.70710678118654752));
}

fn activate(v: V) -> V {
  if (ACT == 1u) {
    return v * sigmoid(v);
  }
  if (ACT == 2u) {
    return gelu(v);
  }
  if (ACT == 3u) {
    // 0.5 v (1 + tanh(u)) = v sigmoid(2u), u = sqrt(2/pi) (v + 0.044715 v^3)
    return v * sigmoid(1.5957691216057308 * (v + 0.044715 * v * v * v));
  }
  if (ACT == 4u) {
    return v * sigmoid(1.702 * v);
  }
  return v;
}

fn flatIndex(lid: vec3u, wid: vec3u, groupsX: u32) -> u32 {
  return (wid.y * groupsX + wid.x) * WG + lid.x;
}

@compute @workgroup_size(WG)
fn act(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let i = flatIndex(lid, wid, actParams.groupsX);
  if (i < actParams.count) {
    y[i] = activate(x[i]);
  }
}

@compute @workgroup_size(WG)
fn geglu(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let i = flatIndex(lid, wid, gegluParams.groupsX);
  if (i < gegluParams.count) {
    let fv = gegluParams.fv;
    let r = i / fv;
    let j = i - r * fv;
    let hidden = x[2u * r * fv + j];
    let gate = x[2u * r * fv + fv + j];
    y[i] = hidden * gelu(gate);
  }
}

@compute @workgroup_size(WG)
fn add(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let p = addParams;
  let i = flatIndex(lid, wid, p.groupsX);
  if (i >= p.count) {
    return;
  }
  if (!BROADCAST) {
    sum[i] = a[i] + b[i];
    return;
  }
  // Peel the collapsed dims innermost first; dims of size 1 (uniform branches) cost no division.
  var g = p.offset + i;
  var ia = (g % p.d3) * p.sa3;
  var ib = (g % p.d3) * p.sb3;
  g /= p.d3;
  if (p.d2 > 1u) {
    ia += (g % p.d2) * p.sa2;
    ib += (g % p.d2) * p.sb2;
    g /= p.d2;
  }
  if (p.d1 > 1u) {
    ia += (g % p.d1) * p.sa1;
    ib += (g % p.d1) * p.sb1;
    g /= p.d1;
  }
  sum[i] = a[ia + g * p.sa0 - p.aBase] + b[ib + g * p.sb0 - p.bBase];
}
