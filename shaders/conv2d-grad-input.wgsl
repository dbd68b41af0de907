// conv2d-grad-input: dx = transposed convolution of dy with w (the input gradient of conv2d.wgsl),
// as an implicit GEMM with f32 accumulation.
//
// Layout: dy NHWC [B', OHw, OW, Cout] (a window of output rows dyRow0 .. dyRow0 + OHw of each image),
//         w HWIO [KH, KW, Cin, Cout], dx NHWC [B', XR, W, Cin] (a window of input rows xRow0 .. xRow0 + XR).
//         Sub-pixel decomposition: for stride s the input pixels split into s×s parity classes
//         (iy = xRow0 + ry + s·my, ix = rx + s·mx); in one class only the taps ky = ky0 + s·j (kx likewise)
//         reach an output pixel, oy = (iy + PAD − ky) / s exactly, so no tap is wasted on a zero of the
//         dilated dy. One dispatch per class (stride 1: one class of all KH·KW taps).
//         GEMM view per class: M = B'·CH·CW class pixels, N = Cin, K = T·Cout with T = nky·nkx class taps;
//         A[m, (t, co)] = dy at pixel m's source (zero outside the image), B[(t, co), ci] = w[ky, kx, ci, co],
//         i.e. each tap's [Cin, Cout] slice read transposed (quads along Cout, its contiguous axis).
// Tiling: as conv2d.wgsl: a workgroup computes TM×TN (TM = WG_Y·RM pixels, TN = WG_X·4 input channels),
//         each thread RM pixels × 4 channels in vec4 registers; K advances TK at a time through workgroup
//         tiles As [TK][TM] (dy quads along Cout scattered over 4 rows) and Bs [TK][TN] (weight quads along
//         Cout scattered over 4 rows). WG_X, WG_Y, TK are override constants; RM, KH, KW, STRIDE, PAD are
//         template values. Dispatch: x = channel tiles, y = pixel tiles, offset by nTile0 / mTile0 so the
//         wrapper can split a grid past maxComputeWorkgroupsPerDimension.
// Precision: f32 dy and dx; w f32 or f16 (halves packed two per u32, unpack2x16float: core WGSL); f32
//            accumulation.
// Template: lines start with a switch that is '' (kept) or '//' (dropped): A_V4 / A_S (dy as vec4 /
//           scalars, by Cout % 4), B_F32V4, B_F32S, B_F16V4, B_F16S (w storage; B_S for either scalar
//           form, by Cout % 4), C_V4 / C_S (dx, by Cin % 4).
// Bindings: 0 dy, 1 w, 2 dx, 3 uniforms.

override WG_X: u32 = 16u;
override WG_Y: u32 = 16u;
override TK: u32 = 16u;
const RM: u32 = {{RM}}u;
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
  Cout: u32,
  W: u32,
  OH: u32,
  OW: u32,
  dyRow0: u32,
  OHw: u32,
  xRow0: u32,
  XR: u32,
  ry: u32,
  rx: u32,
  CH: u32,
  CW: u32,
  ky0: u32,
  kx0: u32,
  nkx: u32,
  mTile0: u32,
  nTile0: u32,
}

{{A_V4}}@group(0) @binding(0) var<storage, read> DY: array<vec4<f32>>;
{{A_S}}@group(0) @binding(0) var<storage, read> DY: array<f32>;
{{B_F32V4}}@group(0) @binding(1) var<storage, read> B: array<vec4<f32>>;
{{B_F32S}}@group(0) @binding(1) var<storage, read> B: array<f32>;
{{B_F16V4}}@group(0) @binding(1) var<storage, read> B: array<vec2<u32>>;
{{B_F16S}}@group(0) @binding(1) var<storage, read> B: array<u32>;
{{C_V4}}@group(0) @binding(2) var<storage, read_write> DX: array<vec4<f32>>;
{{C_S}}@group(0) @binding(2) var<storage, read_write> DX: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> As: array<vec4<f32>, A_TILE>;
var<workgroup> Bs: array<vec4<f32>, B_TILE>;

// Class pixel m: its image and input row (within the image) and column.
struct Pixel {
  image: u32,
  iy: i32,
  ix: i32,
}

fn pixel(m: u32) -> Pixel {
  let p = params;
  let image = m / (p.CH * p.CW);
  let r = m - image * p.CH * p.CW;
  let iy = p.xRow0 + p.ry + u32(STRIDE) * (r / p.CW);
  let ix = p.rx + u32(STRIDE) * (r % p.CW);
  return Pixel(image, i32(iy), i32(ix));
}

// The tap (ky, kx) of class tap t.
fn tapOf(t: u32) -> vec2<u32> {
  let p = params;
  return vec2<u32>(p.ky0 + u32(STRIDE) * (t / p.nkx), p.kx0 + u32(STRIDE) * (t % p.nkx));
}

// Element index in DY of channel co of the output pixel that tap reaches from px, or -1 outside the image.
fn dyIndex(px: Pixel, tap: vec2<u32>, co: u32) -> i32 {
  let p = params;
  let ny = px.iy + PAD - i32(tap.x);
  let nx = px.ix + PAD - i32(tap.y);
  if (ny < 0 || nx < 0) {
    return -1;
  }
  let oy = ny / STRIDE;
  let ox = nx / STRIDE;
  if (oy >= i32(p.OH) || ox >= i32(p.OW)) {
    return -1;
  }
  return ((i32(px.image * p.OHw) + oy - i32(p.dyRow0)) * i32(p.OW) + ox) * i32(p.Cout) + i32(co);
}

// Elements k..k+3 of row m of the implicit A; zero outside the image and past K.
fn quadA(px: Pixel, k: u32) -> vec4<f32> {
  let p = params;
  {{A_V4}}let t = k / p.Cout;
  {{A_V4}}let e = dyIndex(px, tapOf(t), k - t * p.Cout);
  {{A_V4}}if (e < 0) { return vec4<f32>(0.0); }
  {{A_V4}}return DY[u32(e) / 4u];
  {{A_S}}var v = vec4<f32>(0.0);
  {{A_S}}for (var j = 0u; j < min(p.K - k, 4u); j++) {
  {{A_S}}  let t = (k + j) / p.Cout;
  {{A_S}}  let e = dyIndex(px, tapOf(t), k + j - t * p.Cout);
  {{A_S}}  if (e >= 0) { v[j] = DY[u32(e)]; }
  {{A_S}}}
  {{A_S}}return v;
}

// B[k..k+3][ci]: weights of input channel ci for class K indices k..k+3 (zero past K).
fn quadB(k: u32, ci: u32) -> vec4<f32> {
  let p = params;
  {{B_F32V4}}let t = k / p.Cout;
  {{B_F32V4}}let tap = tapOf(t);
  {{B_F32V4}}return B[(((tap.x * KW + tap.y) * p.N + ci) * p.Cout + k - t * p.Cout) / 4u];
  {{B_F16V4}}let t = k / p.Cout;
  {{B_F16V4}}let tap = tapOf(t);
  {{B_F16V4}}let w = B[(((tap.x * KW + tap.y) * p.N + ci) * p.Cout + k - t * p.Cout) / 4u];
  {{B_F16V4}}return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
  {{B_S}}var v = vec4<f32>(0.0);
  {{B_S}}for (var j = 0u; j < min(p.K - k, 4u); j++) {
  {{B_S}}  let t = (k + j) / p.Cout;
  {{B_S}}  let tap = tapOf(t);
  {{B_S}}  let e = ((tap.x * KW + tap.y) * p.N + ci) * p.Cout + k + j - t * p.Cout;
  {{B_F32S}}  v[j] = B[e];
  {{B_F16S}}  v[j] = unpack2x16float(B[e >> 1u])[e & 1u];
  {{B_S}}}
  {{B_S}}return v;
}

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let p = params;
  let tid = lid.y * WG_X + lid.x;
  let m0 = (wid.y + p.mTile0) * TM;
  let n0 = (wid.x + p.nTile0) * TN;

  var acc: array<vec4<f32>, RM>;
  for (var k0 = 0u; k0 < p.K; k0 += TK) {
    // dy quads (4 output channels of one tap) -> As[k][m], scattered over 4 rows of As.
    for (var q = tid; q < TM * TK / 4u; q += THREADS) {
      let m = q / (TK / 4u);
      let kk = (q % (TK / 4u)) * 4u;
      var v = vec4<f32>(0.0);
      if (m0 + m < p.M && k0 + kk < p.K) { v = quadA(pixel(m0 + m), k0 + kk); }
      for (var j = 0u; j < 4u; j++) { As[((kk + j) * TM + m) / 4u][m % 4u] = v[j]; }
    }
    // Weight quads along Cout (= along k) -> Bs[k][n], scattered over 4 rows of Bs.
    for (var q = tid; q < TK * TN / 4u; q += THREADS) {
      let n = q / (TK / 4u);
      let kk = (q % (TK / 4u)) * 4u;
      var v = vec4<f32>(0.0);
      if (n0 + n < p.N && k0 + kk < p.K) { v = quadB(k0 + kk, n0 + n); }
      for (var j = 0u; j < 4u; j++) { Bs[(kk + j) * WG_X + n / 4u][n % 4u] = v[j]; }
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
  for (var i = 0u; i < RM; i++) {
    let m = m0 + lid.y * RM + i;
    if (m >= p.M) {
      return;
    }
    let px = pixel(m);
    let e = ((px.image * p.XR + u32(px.iy) - p.xRow0) * p.W + u32(px.ix)) * p.N + n;
    {{C_V4}}DX[e / 4u] = acc[i];
    {{C_S}}for (var j = 0u; j < min(p.N - n, 4u); j++) { DX[e + j] = acc[i][j]; }
  }
}
