// group-norm-grad: the gradient of y = act(z), z = x̂ * gamma + beta, x̂ = (x - mean) * rstd per
// (batch, group) over x [B, S, C] (act = SiLU or identity, override SILU). With dz = dy * act'(z):
//   dbeta_c = Σ_{b,s} dz,  dgamma_c = Σ_{b,s} dz x̂,
//   dx = rstd * gamma * dz - a - bb * x̂,  a = rstd * A / N,  bb = rstd * B / N  per (batch, group),
//   A = Σ_group gamma_c dz,  B = Σ_group gamma_c dz x̂,  N = S * C / G.
// Every sum runs in a fixed order (no atomics), so a gradient is reproducible bit for bit. Four entries:
//   reduce:   per-channel partial (Σ dz, Σ dz x̂) over the same pixel chunks as the forward statistics
//             (never crossing a batch), workgroup TX x TY as group-norm.wgsl's stats: TX channel vectors
//             (coalesced V loads along C), TY rows striding the chunk, then a tree over TY.
//             partials [B * chunksPerBatch, 2, C]. x and dy are bound from row rowOffset (chunks).
//   finalize: one workgroup per (batch, group) sums gamma_c * partials over its chunks and channels, and
//             writes coef [B, 4, C] = (mean, rstd, a, bb) for each channel of the group.
//   weights:  one V of channels per invocation sums the partials over all chunks in order: dgamma, dbeta.
//   dx:       elementwise, one V per invocation (the wrapper chunks rows past the binding limit).
// Precision: f32. The statistics table comes from group-norm.wgsl (stats + finalize with unit gamma,
// so its scale row is rstd). gamma/beta are bound as array<u32>: f32 bits or f16 halves packed two per
// word (overrides GAMMA_F16 / BETA_F16), so frozen f16 weights feed the input gradient directly.
// Bindings:
//   reduce:   0 gamma, 1 beta, 2 x, 3 dy, 4 table [B, 3, C], 5 partials (out), 6 ReduceParams
//   finalize: 0 gamma, 1 partials, 2 table, 3 coef (out), 4 FinalizeParams
//   weights:  0 partials, 1 dgamma (out), 2 dbeta (out), 3 WeightParams
//   dx:       0 gamma, 1 beta, 2 x, 3 dy, 4 coef, 5 dx (out), 6 DxParams
alias V = {{V}};
const W: u32 = {{W}}u;

override TX: u32 = 16u;
override TY: u32 = 16u;
override FWG: u32 = 64u;
override WG: u32 = 256u;
override GAMMA_F16: bool = false;
override BETA_F16: bool = false;
override SILU: bool = false;

struct ReduceParams {
  cv: u32,             // C / W
  spatial: u32,
  pix: u32,
  chunksPerBatch: u32,
  k0: u32,
  kCount: u32,
  rowOffset: u32,
  cblocks: u32,
  groupsX: u32,
}

struct FinalizeParams {
  c: u32,
  groups: u32,
  spatial: u32,
  chunksPerBatch: u32,
  batches: u32,
  groupsX: u32,
}

struct WeightParams {
  cv: u32,
  chunks: u32,
  groupsX: u32,
}

struct DxParams {
  cv: u32,
  spatial: u32,
  rowOffset: u32,
  count: u32,
  groupsX: u32,
}

@group(0) @binding(0) var<storage, read> gamma: array<u32>;
@group(0) @binding(1) var<storage, read> beta: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<V>;
@group(0) @binding(3) var<storage, read> dy: array<V>;
@group(0) @binding(4) var<storage, read> tab: array<V>;
@group(0) @binding(5) var<storage, read_write> out: array<V>;
@group(0) @binding(6) var<uniform> rp: ReduceParams;
@group(0) @binding(6) var<uniform> dp: DxParams;

@group(0) @binding(1) var<storage, read> partialsF: array<f32>;
@group(0) @binding(2) var<storage, read> tableF: array<f32>;
@group(0) @binding(3) var<storage, read_write> coef: array<f32>;
@group(0) @binding(4) var<uniform> fp: FinalizeParams;

@group(0) @binding(0) var<storage, read> partialsV: array<V>;
@group(0) @binding(1) var<storage, read_write> dgamma: array<V>;
@group(0) @binding(2) var<storage, read_write> dbeta: array<V>;
@group(0) @binding(3) var<uniform> wp: WeightParams;

fn unpackWeight(word: u32, ch: u32, f16: bool) -> f32 {
  if (f16) {
    return unpack2x16float(word)[ch & 1u];
  }
  return bitcast<f32>(word);
}

fn gammaAt(ch: u32) -> f32 {
  return unpackWeight(gamma[select(ch, ch >> 1u, GAMMA_F16)], ch, GAMMA_F16);
}

fn betaAt(ch: u32) -> f32 {
  return unpackWeight(beta[select(ch, ch >> 1u, BETA_F16)], ch, BETA_F16);
}

// gamma / beta for channel vector c as V ({{LANES}} picks xyzw or x).
fn gammaV(c: u32) -> V {
  var v = vec4<f32>(0.0);
  for (var k = 0u; k < W; k++) {
    v[k] = gammaAt(c * W + k);
  }
  return v.{{LANES}};
}

fn betaV(c: u32) -> V {
  var v = vec4<f32>(0.0);
  for (var k = 0u; k < W; k++) {
    v[k] = betaAt(c * W + k);
  }
  return v.{{LANES}};
}

// dz = dy * act'(z) with z = x̂ * g + b; SiLU' = s + z s (1 - s), 1 - s = sigmoid(-z) from the same exp
// (no cancellation where s rounds to 1).
fn dzOf(d: V, xh: V, g: V, b: V) -> V {
  if (SILU) {
    let z = xh * g + b;
    let e = exp(-abs(z));
    let p = 1.0 / (1.0 + e);
    let positive = z >= V(0.0);
    let s = select(e * p, p, positive);
    let n = select(p, e * p, positive);
    return d * (s + z * s * n);
  }
  return d;
}

var<workgroup> w1: array<V, TX * TY>;
var<workgroup> w2: array<V, TX * TY>;

@compute @workgroup_size(TX, TY)
fn reduce(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let wg = wid.y * rp.groupsX + wid.x;
  let kLocal = wg / rp.cblocks;
  let c = (wg % rp.cblocks) * TX + lid.x;
  let k = rp.k0 + kLocal;
  let live = kLocal < rp.kCount && c < rp.cv;
  var s1 = V(0.0);
  var s2 = V(0.0);
  if (live) {
    let batch = k / rp.chunksPerBatch;
    let first = batch * rp.spatial + (k % rp.chunksPerBatch) * rp.pix;
    let end = min(first + rp.pix, (batch + 1u) * rp.spatial);
    let mean = tab[batch * 3u * rp.cv + c];
    let rstd = tab[batch * 3u * rp.cv + rp.cv + c];
    var g = V(0.0);
    var b = V(0.0);
    if (SILU) {
      g = gammaV(c);
      b = betaV(c);
    }
    for (var r = first + lid.y; r < end; r += TY) {
      let i = (r - rp.rowOffset) * rp.cv + c;
      let xh = (x[i] - mean) * rstd;
      let dz = dzOf(dy[i], xh, g, b);
      s1 += dz;
      s2 += dz * xh;
    }
  }
  let slot = lid.y * TX + lid.x;
  w1[slot] = s1;
  w2[slot] = s2;
  for (var half = TY / 2u; half > 0u; half /= 2u) {
    workgroupBarrier();
    if (lid.y < half) {
      w1[slot] += w1[slot + half * TX];
      w2[slot] += w2[slot + half * TX];
    }
  }
  if (lid.y == 0u && live) {
    out[k * 2u * rp.cv + c] = w1[slot];
    out[k * 2u * rp.cv + rp.cv + c] = w2[slot];
  }
}

var<workgroup> fa: array<f32, FWG>;
var<workgroup> fb: array<f32, FWG>;

@compute @workgroup_size(FWG)
fn finalize(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let bg = wid.y * fp.groupsX + wid.x;
  let cg = fp.c / fp.groups;
  let batch = bg / fp.groups;
  let group = bg % fp.groups;
  var a = 0.0;
  var b = 0.0;
  if (batch < fp.batches) {
    for (var i = lid.x; i < fp.chunksPerBatch * cg; i += FWG) {
      let ch = group * cg + i % cg;
      let k = batch * fp.chunksPerBatch + i / cg;
      let gch = gammaAt(ch);
      a += gch * partialsF[k * 2u * fp.c + ch];
      b += gch * partialsF[k * 2u * fp.c + fp.c + ch];
    }
  }
  fa[lid.x] = a;
  fb[lid.x] = b;
  for (var half = FWG / 2u; half > 0u; half /= 2u) {
    workgroupBarrier();
    if (lid.x < half) {
      fa[lid.x] += fa[lid.x + half];
      fb[lid.x] += fb[lid.x + half];
    }
  }
  workgroupBarrier();
  if (batch >= fp.batches) {
    return;
  }
  let first = group * cg;
  let mean = tableF[batch * 3u * fp.c + first];
  let rstd = tableF[batch * 3u * fp.c + fp.c + first];
  let n = f32(fp.spatial * cg);
  let ca = rstd * fa[0] / n;
  let cb = rstd * fb[0] / n;
  for (var ci = lid.x; ci < cg; ci += FWG) {
    let base = batch * 4u * fp.c + first + ci;
    coef[base] = mean;
    coef[base + fp.c] = rstd;
    coef[base + 2u * fp.c] = ca;
    coef[base + 3u * fp.c] = cb;
  }
}

@compute @workgroup_size(WG)
fn weights(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let c = (wid.y * wp.groupsX + wid.x) * WG + lid.x;
  if (c >= wp.cv) {
    return;
  }
  var db = V(0.0);
  var dg = V(0.0);
  for (var k = 0u; k < wp.chunks; k++) {
    db += partialsV[k * 2u * wp.cv + c];
    dg += partialsV[k * 2u * wp.cv + wp.cv + c];
  }
  dgamma[c] = dg;
  dbeta[c] = db;
}

@compute @workgroup_size(WG)
fn dx(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let i = (wid.y * dp.groupsX + wid.x) * WG + lid.x;
  if (i >= dp.count) {
    return;
  }
  let c = i % dp.cv;
  let base = ((dp.rowOffset + i / dp.cv) / dp.spatial) * 4u * dp.cv + c;
  let mean = tab[base];
  let rstd = tab[base + dp.cv];
  let xh = (x[i] - mean) * rstd;
  let g = gammaV(c);
  var b = V(0.0);
  if (SILU) {
    b = betaV(c);
  }
  let dz = dzOf(dy[i], xh, g, b);
  out[i] = rstd * g * dz - tab[base + 2u * dp.cv] - tab[base + 3u * dp.cv] * xh;
}
