// conv2d: implicit-GEMM convolution, y = conv(x, w) + bias (+ residual), f32 accumulation.
//
// Layout: x NHWC [B, H, W, Cin] (a window of rows, see below), w HWIO [KH, KW, Cin, Cout] read as the
//         GEMM matrix [K, N], bias [Cout], y and residual NHWC [B', OHc, OW, Cout].
//         GEMM view: M = B'·OHc·OW output pixels, N = Cout, K = KH·KW·Cin; row m of the implicit A is the
//         receptive field of pixel m (taps (ky, kx) outer, channels inner), gathered on the fly.
//         Chunking: the x binding may hold only rows inRow0 .. inRow0 + inRows of an image of height H,
//         and y only output rows outRow0 .. outRow0 + OHc; zero padding is decided against the full
//         image, so a conv over a tensor past the storage binding limit runs as row chunks.
// Tiling: as matmul.wgsl: a workgroup computes a TM×TN output tile (TM = WG_Y·RM pixels, TN = WG_X·4
//         channels), each thread RM pixels × 4 channels in vec4 registers; K advances TK at a time through
//         workgroup tiles As [TK][TM] (gathered from x in quads of 4 channels: one vec4 load when Cin is a
//         multiple of 4, guarded scalars otherwise, e.g. the RGB/latent inputs) and Bs [TK][TN].
//         WG_X, WG_Y, TK are override constants; RM, KH, KW, STRIDE, PAD are template values.
//         Dispatch: x = channel tiles, y = pixel tiles, offset by nTile0 / mTile0 so the wrapper can split a
//         grid past maxComputeWorkgroupsPerDimension.
// Precision: f32 x and y; w and bias f32 or f16 (halves packed two per u32, unpack2x16float: core WGSL,
//            no shader-f16 needed); f32 accumulation.
// Template: lines start with a switch that is '' (kept) or '//' (dropped): A_V4 / A_S (x as vec4 / scalars),
//           B_F32V4, B_F32S, B_F16V4, B_F16S (w storage; B_S for either scalar form), C_V4 / C_S (y and
//           residual), BIAS_F32 / BIAS_F16 / NO_BIAS, RES.
// Bindings: 0 x, 1 w, then bias if any, then residual if any, then y; then the uniforms (numbers given by
//           B_BIAS, B_RES, B_OUT, B_PARAMS).

override WG_X: u32 = 16u;
override WG_Y: u32 = 16u;
override TK: u32 = 16u;
const RM: u32 = {{RM}}u;
const KH: u32 = {{KH}}u;
const KW: u32 = {{KW}}u;
const STRIDE: i32 = {{STRIDE}};
const PAD: i32 = {{PAD}};

override TM: u32 = WG_Y * RM;
override TN: u32 = WG_X * 4u;
override THREADS: u32 = WG_X * WG_Y;
override A_TILE: u32 = TK * WG_Y * RM / 4u;
override B_TILE: u32 = TK * WG_X;

struct Params {
  M: u32,
  N: u32,
  K: u32,
  Cin: u32,
  H: u32,
  W: u32,
  inRow0: u32,
  inRows: u32,
  outRow0: u32,
  OHc: u32,
  OW: u32,
  mTile0: u32,
  nTile0: u32,
}

{{A_V4}}@group(0) @binding(0) var<storage, read> X: array<vec4<f32>>;
{{A_S}}@group(0) @binding(0) var<storage, read> X: array<f32>;
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

// The top-left input pixel of output pixel m's receptive field (may lie in the padding), and its image.
struct Origin {
  image: u32,
  iy: i32,
  ix: i32,
}

fn origin(m: u32) -> Origin {
  let p = params;
  let image = m / (p.OHc * p.OW);
  let r = m - image * p.OHc * p.OW;
  let oy = p.outRow0 + r / p.OW;
  let ox = r % p.OW;
  return Origin(image, i32(oy) * STRIDE - PAD, i32(ox) * STRIDE - PAD);
}

// Element index in X of channel ci at tap (ky, kx) of a receptive field, or -1 in the zero padding.
fn xIndex(o: Origin, tap: u32, ci: u32) -> i32 {
  let p = params;
  let iy = o.iy + i32(tap / KW);
  let ix = o.ix + i32(tap % KW);
  if (iy < 0 || iy >= i32(p.H) || ix < 0 || ix >= i32(p.W)) {
    return -1;
  }
  return ((i32(o.image * p.inRows) + iy - i32(p.inRow0)) * i32(p.W) + ix) * i32(p.Cin) + i32(ci);
}

// Elements k..k+3 of row m of the implicit A; zero in the padding and past K.
fn quadA(o: Origin, k: u32) -> vec4<f32> {
  let p = params;
  {{A_V4}}let tap = k / p.Cin;
  {{A_V4}}let e = xIndex(o, tap, k - tap * p.Cin);
  {{A_V4}}if (e < 0) { return vec4<f32>(0.0); }
  {{A_V4}}return X[u32(e) / 4u];
  {{A_S}}var v = vec4<f32>(0.0);
  {{A_S}}for (var j = 0u; j < min(p.K - k, 4u); j++) {
  {{A_S}}  let tap = (k + j) / p.Cin;
  {{A_S}}  let e = xIndex(o, tap, k + j - tap * p.Cin);
  {{A_S}}  if (e >= 0) { v[j] = X[u32(e)]; }
  {{A_S}}}
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

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let p = params;
  let tid = lid.y * WG_X + lid.x;
  let m0 = (wid.y + p.mTile0) * TM;
  let n0 = (wid.x + p.nTile0) * TN;

  var acc: array<vec4<f32>, RM>;
  for (var k0 = 0u; k0 < p.K; k0 += TK) {
    // Receptive-field quads (4 channels of one tap) -> As[k][m], scattered over 4 rows of As.
    for (var q = tid; q < TM * TK / 4u; q += THREADS) {
      let m = q / (TK / 4u);
      let kk = (q % (TK / 4u)) * 4u;
      var v = vec4<f32>(0.0);
      if (m0 + m < p.M && k0 + kk < p.K) { v = quadA(origin(m0 + m), k0 + kk); }
      for (var j = 0u; j < 4u; j++) { As[((kk + j) * TM + m) / 4u][m % 4u] = v[j]; }
    }
    // Weight quads along Cout land whole in Bs[k][n].
    for (var q = tid; q < TK * TN / 4u; q += THREADS) {
      let kk = q / WG_X;
      let n = (q % WG_X) * 4u;
      var v = vec4<f32>(0.0);
      if (k0 + kk < p.K && n0 + n < p.N) { v = quadB((k0 + kk) * p.N + n0 + n, p.N - n0 - n); }
      Bs[q] = v;
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
    var v = acc[i] + b;
    let e = m * p.N + n;
    {{C_V4}}{{RES}}v += residual[e / 4u];
    {{C_V4}}C[e / 4u] = v;
    {{C_S}}for (var j = 0u; j < min(p.N - n, 4u); j++) {
    {{C_S}}  {{RES}}v[j] += residual[e + j];
    {{C_S}}  C[e + j] = v[j];
    {{C_S}}}
  }
}
