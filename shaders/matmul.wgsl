// matmul: C[z] = act(op(A[z]) · op(B[z]) + bias) + residual, f32 accumulation. Serves linear layers
// (x [rows, in] · W [in, out]), 1×1 stride-1 convolutions (pixels × channels) and general batched
// matmuls with transposes (the backward kernels).
//
// Layout: A logically [M, K], stored [M, K] or, with A transposed, [K, M]; B logically [K, N], stored
//         [K, N] or [N, K]; C, residual [M, N]; bias [N]. z (workgroup id z) selects a batch matrix via
//         element strides (0 broadcasts one matrix over the batch).
// Tiling: a workgroup computes a TM×TN tile of C, TM = WG_Y·RM rows, TN = WG_X·4 columns; each thread
//         owns RM rows × 4 adjacent columns (register blocking: RM vec4 accumulators). K advances TK at a
//         time through workgroup-memory tiles As [TK][TM] and Bs [TK][TN], filled with 4-element quads
//         read along each operand's contiguous axis (vec4 / vec2<u32> loads when that axis is a multiple
//         of 4, guarded scalar loads otherwise). WG_X, WG_Y, TK are override constants (tunable per GPU);
//         RM sizes the register arrays, so it is a template value (a multiple of 4).
//         Dispatch: x = column tiles, y = row tiles, z = batch, offset by nTile0 / mTile0 / batch0 so the
//         wrapper can split a grid past maxComputeWorkgroupsPerDimension.
// Precision: f32 A and C; B and bias f32 or f16 (halves packed two per u32, unpack2x16float: core WGSL,
//            no shader-f16 needed); f32 accumulation.
// Template: lines start with a switch that is '' (kept) or '//' (dropped):
//           A_V4 / A_S: A read as vec4 / scalars; A_N / A_T: A stored [M,K] / [K,M]; likewise B_*
//           (B_F32V4, B_F32S, B_F16V4, B_F16S for its storage; B_S for either scalar form), C_V4 / C_S
//           (output and residual), BIAS_F32 / BIAS_F16 / NO_BIAS, RES; ACT 0..4 = none, silu, gelu (erf), gelu-tanh, quick-gelu.
// Bindings: 0 A, 1 B, then bias if any, then residual if any, then C; then the uniforms (numbers given
//           by B_BIAS, B_RES, B_OUT, B_PARAMS).

override WG_X: u32 = 16u;
override WG_Y: u32 = 16u;
override TK: u32 = 16u;
const RM: u32 = {{RM}}u;
const ACT: u32 = {{ACT}}u;

override TM: u32 = WG_Y * RM;
override TN: u32 = WG_X * 4u;
override THREADS: u32 = WG_X * WG_Y;
override A_TILE: u32 = TK * WG_Y * RM / 4u;
override B_TILE: u32 = TK * WG_X;

struct Params {
  M: u32,
  N: u32,
  K: u32,
  strideA: u32,
  strideB: u32,
  strideC: u32,
  mTile0: u32,
  nTile0: u32,
  batch0: u32,
}

{{A_V4}}@group(0) @binding(0) var<storage, read> A: array<vec4<f32>>;
{{A_S}}@group(0) @binding(0) var<storage, read> A: array<f32>;
{{B_F32V4}}@group(0) @binding(1) var<storage, read> B: array<vec4<f32>>;
{{B_F32S}}@group(0) @binding(1) var<storage, read> B: array<f32>;
{{B_F16V4}}@group(0) @binding(1) var<storage, read> B: array<vec2<u32>>;
{{B_F16S}}@group(0) @binding(1) var<storage, read> B: array<u32>;
{{BIAS_F32}}@group(0) @binding({{B_BIAS}}) var<storage, read> bias: array<f32>;
{{BIAS_F16}}@group(0) @binding({{B_BIAS}}) var<storage, read> bias: array<u32>;
{{RES}}{{C_V4}}@group(0) @binding({{B_RES}}) var<storage, read> residual: array<vec4<f32>>;
{{RES}}{{C_S}}@group(0) @binding({{B_RES}}) var<storage, read> residual: array<f32>;
{{C_V4}}@group(0) @binding({{B_OUT}}) var<storage, read_write> C: array<vec4<f32>>;
{{C_S}}@group(0) @binding({{B_OUT}}) var<storage, read_write> C: array<f32>;
@group(0) @binding({{B_PARAMS}}) var<uniform> params: Params;

var<workgroup> As: array<vec4<f32>, A_TILE>;
var<workgroup> Bs: array<vec4<f32>, B_TILE>;

// Elements e..e+3 of A's storage (a row of `cols`, e a multiple of 4 within it); zero past the row end.
fn quadA(e: u32, colsLeft: u32) -> vec4<f32> {
  {{A_V4}}return A[e / 4u];
  {{A_S}}var v = vec4<f32>(0.0);
  {{A_S}}for (var j = 0u; j < min(colsLeft, 4u); j++) { v[j] = A[e + j]; }
  {{A_S}}return v;
}

fn quadB(e: u32, colsLeft: u32) -> vec4<f32> {
  {{B_F32V4}}return B[e / 4u];
  {{B_F16V4}}let w = B[e / 4u];
  {{B_F16V4}}return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
  {{B_S}}var v = vec4<f32>(0.0);
  {{B_S}}for (var j = 0u; j < min(colsLeft, 4u); j++) {
  {{B_F32S}}  v[j] = B[e + j];
  {{B_F16S}}  v[j] = unpack2x16float(B[(e + j) >> 1u])[(e + j) & 1u];
  {{B_S}}}
  {{B_S}}return v;
}

fn biasAt(n: u32) -> f32 {
  {{BIAS_F32}}return bias[n];
  {{BIAS_F16}}return unpack2x16float(bias[n >> 1u])[n & 1u];
  {{NO_BIAS}}return 0.0;
}

fn activate(v: vec4<f32>) -> vec4<f32> {
  switch ACT {
    case 1u: { return v / (1.0 + exp(-v)); }
    case 2u: { return 0.5 * v * (1.0 + erf4(v * 0.70710678118654752)); }
    // tanh of a clamped argument: some GPUs' tanh returns NaN for large |x| (exp overflow).
    case 3u: { return 0.5 * v * (1.0 + tanh(clamp(0.7978845608028654 * (v + 0.044715 * v * v * v), vec4(-15.0), vec4(15.0)))); }
    case 4u: { return v / (1.0 + exp(-1.702 * v)); }
    default: { return v; }
  }
}

// erf from Numerical Recipes' Chebyshev fit of erfc: |error| < 1.2e-7 everywhere.
fn erf4(x: vec4<f32>) -> vec4<f32> {
  let a = abs(x);
  let t = 1.0 / (1.0 + 0.5 * a);
  let y = 1.0 - t * exp(-a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return sign(x) * y;
}

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let p = params;
  let tid = lid.y * WG_X + lid.x;
  let m0 = (wid.y + p.mTile0) * TM;
  let n0 = (wid.x + p.nTile0) * TN;
  let z = wid.z + p.batch0;
  let baseA = z * p.strideA;
  let baseB = z * p.strideB;
  let baseC = z * p.strideC;

  var acc: array<vec4<f32>, RM>;
  for (var k0 = 0u; k0 < p.K; k0 += TK) {
    // A tile -> As[k][m]. Stored [M,K]: quads run along k and are scattered over 4 rows of As.
    for (var q = tid; q < TM * TK / 4u; q += THREADS) {
      {{A_N}}let m = q / (TK / 4u);
      {{A_N}}let k = k0 + (q % (TK / 4u)) * 4u;
      {{A_N}}var v = vec4<f32>(0.0);
      {{A_N}}if (m0 + m < p.M && k < p.K) { v = quadA(baseA + (m0 + m) * p.K + k, p.K - k); }
      {{A_N}}let kk = (q % (TK / 4u)) * 4u;
      {{A_N}}for (var j = 0u; j < 4u; j++) { As[((kk + j) * TM + m) / 4u][m % 4u] = v[j]; }
      {{A_T}}let kk = q / (TM / 4u);
      {{A_T}}let m = (q % (TM / 4u)) * 4u;
      {{A_T}}var v = vec4<f32>(0.0);
      {{A_T}}if (k0 + kk < p.K && m0 + m < p.M) { v = quadA(baseA + (k0 + kk) * p.M + m0 + m, p.M - m0 - m); }
      {{A_T}}As[q] = v;
    }
    // B tile -> Bs[k][n]. Stored [K,N]: quads along n land whole in Bs.
    for (var q = tid; q < TK * TN / 4u; q += THREADS) {
      {{B_N}}let kk = q / WG_X;
      {{B_N}}let n = (q % WG_X) * 4u;
      {{B_N}}var v = vec4<f32>(0.0);
      {{B_N}}if (k0 + kk < p.K && n0 + n < p.N) { v = quadB(baseB + (k0 + kk) * p.N + n0 + n, p.N - n0 - n); }
      {{B_N}}Bs[q] = v;
      {{B_T}}let n = q / (TK / 4u);
      {{B_T}}let kk = (q % (TK / 4u)) * 4u;
      {{B_T}}var v = vec4<f32>(0.0);
      {{B_T}}if (n0 + n < p.N && k0 + kk < p.K) { v = quadB(baseB + (n0 + n) * p.K + k0 + kk, p.K - k0 - kk); }
      {{B_T}}for (var j = 0u; j < 4u; j++) { Bs[(kk + j) * WG_X + n / 4u][n % 4u] = v[j]; }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      let b = Bs[kk * WG_X + lid.x];
      for (var i = 0u; i < RM; i += 4u) {
        let a = As[(kk * TM + lid.y * RM + i) / 4u];
        acc[i] = fma(vec4<f32>(a.x), b, acc[i]);
        acc[i + 1u] = fma(vec4<f32>(a.y), b, acc[i + 1u]);
        acc[i + 2u] = fma(vec4<f32>(a.z), b, acc[i + 2u]);
        acc[i + 3u] = fma(vec4<f32>(a.w), b, acc[i + 3u]);
      }
    }
    workgroupBarrier();
  }

  let n = n0 + lid.x * 4u;
  if (n >= p.N) {
    return;
  }
  let b = vec4<f32>(biasAt(n), biasAt(min(n + 1u, p.N - 1u)), biasAt(min(n + 2u, p.N - 1u)), biasAt(min(n + 3u, p.N - 1u)));
  for (var i = 0u; i < RM; i++) {
    let m = m0 + lid.y * RM + i;
    if (m >= p.M) {
      return;
    }
    var v = activate(acc[i] + b);
    let e = baseC + m * p.N + n;
    {{C_V4}}{{RES}}v += residual[e / 4u];
    {{C_V4}}C[e / 4u] = v;
    {{C_S}}for (var j = 0u; j < min(p.N - n, 4u); j++) {
    {{C_S}}  {{RES}}v[j] += residual[e + j];
    {{C_S}}  C[e + j] = v[j];
    {{C_S}}}
  }
}
