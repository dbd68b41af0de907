// activations-grad: gradients of activations.wgsl's elementwise ops, and the fixed-order run sums that
// give a broadcast operand of `add` its gradient.
// Layout: flat f32 tensors read as `V` (vec4<f32> when the element count — for GEGLU the half width F,
//         for runsum the row width C — is a multiple of 4, else f32).
// Tiling: one output V per invocation, WG invocations per workgroup; 2D grid (groupsX * y) so tensors past
//         the per-dimension dispatch limit still run. Wrappers chunk tensors past the binding limit.
// Precision: f32. Derivatives (x the activation's input):
//   silu        s + x s (1 - s),                   s = sigmoid(x)
//   gelu        Φ(x) + x φ(x), Φ from the same minimax erf as activations.wgsl, computed as erfc where
//               1 + erf(x/√2) would cancel (x < -√2)
//   gelu-tanh   s + x s (1 - s) 2k (1 + 3a x²),   s = sigmoid(2k (x + a x³)), k = sqrt(2/pi), a = 0.044715
//               (the polynomial's x is clamped to ±20, where s (1 - s) is 0 in f32 anyway: no 0 * inf)
//   quick-gelu  s + 1.702 x s (1 - s),             s = sigmoid(1.702 x)
//   1 - s is computed as sigmoid(-z) from the same exp, so s (1 - s) keeps its digits where s rounds to 1.
// Entry points and bindings:
//   act:    0 x, 1 dy, 2 dx, 3 ActParams; override ACT (1 silu, 2 gelu, 3 gelu-tanh, 4 quick-gelu)
//   geglu:  0 x [rows, 2F], 1 dy [rows, F], 2 dx [rows, 2F] (d hidden, then d gate), 3 GegluParams
//   runsum: 0 x [A * R, C] rows, 1 y [A * nb, C], 2 RunParams: y[a, j] = Σ_{r in run j} x[a, r] in row
//           order, runs of `run` rows (the last of each a shorter). The wrapper applies it until one run
//           remains (a deterministic tree over rows, no atomics); x is bound from row rowOffset (chunks).
alias V = {{V}};

override WG: u32 = 256u;
override ACT: u32 = 1u;

struct ActParams {
  count: u32,
  groupsX: u32,
}

struct GegluParams {
  count: u32,
  groupsX: u32,
  fv: u32,
}

struct RunParams {
  count: u32,          // V outputs in this dispatch
  groupsX: u32,
  cv: u32,             // C / width
  rows: u32,           // R
  run: u32,
  runs: u32,           // nb = ceil(R / run)
  j0: u32,             // first output row (a * nb + j) of this dispatch
  rowOffset: u32,      // first x row bound
}

@group(0) @binding(0) var<storage, read> x: array<V>;
@group(0) @binding(1) var<storage, read> dy: array<V>;
@group(0) @binding(2) var<storage, read_write> dx: array<V>;
@group(0) @binding(3) var<uniform> actParams: ActParams;
@group(0) @binding(3) var<uniform> gegluParams: GegluParams;

@group(0) @binding(1) var<storage, read_write> sums: array<V>;
@group(0) @binding(2) var<uniform> runParams: RunParams;

// sigmoid(z) and 1 - sigmoid(z) = sigmoid(-z), each without cancellation (s * (1 - s) stays exact where
// sigmoid(z) rounds to 1).
struct Sigmoids {
  s: V,
  n: V,
}

fn sigmoids(z: V) -> Sigmoids {
  let e = exp(-abs(z));
  let p = 1.0 / (1.0 + e);
  let positive = z >= V(0.0);
  return Sigmoids(select(e * p, p, positive), select(p, e * p, positive));
}

// For |v| <= 1: erf(v) = v P(v²); for |v| > 1: erfc(|v|) = exp(Q(min(|v|, 4))) (activations.wgsl's pair).
fn erfSmall(v: V) -> V {
  let s = v * v;
  var p = V(7.882497448e-05);
  p = p * s - 8.018855006e-04;
  p = p * s + 5.189312156e-03;
  p = p * s - 2.685432881e-02;
  p = p * s + 1.128359735e-01;
  p = p * s - 3.761262596e-01;
  p = p * s + 1.128379107e+00;
  return p * v;
}

fn erfcLarge(v: V) -> V {
  let t = min(abs(v), V(4.0));
  var q = V(-1.330938994e-05);
  q = q * t + 3.175720340e-04;
  q = q * t - 3.436867613e-03;
  q = q * t + 2.262198552e-02;
  q = q * t - 1.033189818e-01;
  q = q * t - 6.390933394e-01;
  q = q * t - 1.125925899e+00;
  q = q * t - 7.569686277e-04;
  return exp(q);
}

// Φ(x) = (1 + erf(x / √2)) / 2.
fn normalCdf(x: V) -> V {
  let v = x * 0.70710678118654752;
  let tail = 0.5 * erfcLarge(v);
  return select(select(1.0 - tail, tail, v < V(0.0)), 0.5 + 0.5 * erfSmall(v), abs(v) <= V(1.0));
}

fn gelu(x: V) -> V {
  return x * normalCdf(x);
}

fn geluGrad(x: V) -> V {
  return normalCdf(x) + x * (0.3989422804014327 * exp(-0.5 * x * x));
}

fn activationGrad(x: V) -> V {
  if (ACT == 1u) {
    let g = sigmoids(x);
    return g.s + x * g.s * g.n;
  }
  if (ACT == 2u) {
    return geluGrad(x);
  }
  if (ACT == 3u) {
    let c = clamp(x, V(-20.0), V(20.0));
    let g = sigmoids(1.5957691216057308 * (x + 0.044715 * x * x * x));
    return g.s + g.s * g.n * (1.5957691216057308 * c * (1.0 + 0.134145 * c * c));
  }
  if (ACT == 4u) {
    let g = sigmoids(1.702 * x);
    return g.s + 1.702 * x * g.s * g.n;
  }
  return V(1.0);
}

fn flatIndex(lid: vec3u, wid: vec3u, groupsX: u32) -> u32 {
  return (wid.y * groupsX + wid.x) * WG + lid.x;
}

@compute @workgroup_size(WG)
fn act(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let i = flatIndex(lid, wid, actParams.groupsX);
  if (i < actParams.count) {
    dx[i] = dy[i] * activationGrad(x[i]);
  }
}

@compute @workgroup_size(WG)
fn geglu(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let i = flatIndex(lid, wid, gegluParams.groupsX);
  if (i < gegluParams.count) {
    let fv = gegluParams.fv;
    let r = i / fv;
    let j = i - r * fv;
    let hi = 2u * r * fv + j;
    let hidden = x[hi];
    let gate = x[hi + fv];
    let d = dy[i];
    dx[hi] = d * gelu(gate);
    dx[hi + fv] = d * hidden * geluGrad(gate);
  }
}

@compute @workgroup_size(WG)
fn runsum(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let p = runParams;
  let i = flatIndex(lid, wid, p.groupsX);
  if (i >= p.count) {
    return;
  }
  let c = i % p.cv;
  let j = p.j0 + i / p.cv;
  let a = j / p.runs;
  let first = a * p.rows + (j % p.runs) * p.run;
  let end = min(first + p.run, (a + 1u) * p.rows);
  var s = V(0.0);
  for (var r = first; r < end; r++) {
    s += x[(r - p.rowOffset) * p.cv + c];
  }
  sums[i] = s;
}
