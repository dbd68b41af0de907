// group-norm: GroupNorm over x [B, S, C] (NHWC [B, H, W, C] with S = H*W, or [B, L, C]), G groups of
// C/G channels, per-channel gamma/beta, optional SiLU fused after. Three dispatches, so that a group's
// statistics span all of its S*C/G values however large (the VAE decoder's 512x512x256 groups) and x
// can be fed in row chunks when it exceeds the storage binding limit:
//   stats:    per-channel partial (mean, M2) over pixel chunks of `pix` rows (never crossing a batch),
//             Welford within an invocation, Chan's merge across the workgroup. Workgroup TX x TY:
//             TX channel vectors side by side (coalesced vec4 loads along C), TY rows striding the chunk.
//   finalize: one workgroup per (batch, group) merges its chunks x channels (Chan), and writes for each
//             channel mean, scale = gamma * rsqrt(var + eps) and beta: table [B, 3, C].
//   apply:    y = (x - mean) * scale + beta (then SiLU), one V per invocation.
// Welford/Chan keep the variance exact for large means (no E[x^2] - E[x]^2 cancellation).
// Precision: f32 throughout; gamma/beta bound as array<u32>: f32 bits, or f16 halves packed two per word
// (override GAMMA_F16 / BETA_F16; unpack2x16float needs no f16 extension).
// Layout of partials: [B * chunksPerBatch, 2, C] (means, then M2), in V units in stats, scalars in finalize.
// Bindings:
//   stats:    0 x chunk (rows from rowOffset), 1 partials (read_write), 2 StatsParams
//   finalize: 0 partials, 1 gamma, 2 beta, 3 table, 4 FinalizeParams
//   apply:    0 x chunk, 1 table, 2 y chunk, 3 ApplyParams
alias V = {{V}};
const W: u32 = {{W}}u;

override TX: u32 = 16u;
override TY: u32 = 16u;
override FWG: u32 = 64u;
override WG: u32 = 256u;
override GAMMA_F16: bool = false;
override BETA_F16: bool = false;
override SILU: bool = false;

struct StatsParams {
  cv: u32,             // C / W
  spatial: u32,        // rows per batch
  pix: u32,            // rows per pixel chunk
  chunksPerBatch: u32,
  k0: u32,             // first pixel chunk of this dispatch
  kCount: u32,
  rowOffset: u32,      // first row of the bound x chunk
  cblocks: u32,        // ceil(cv / TX)
  groupsX: u32,
}

struct FinalizeParams {
  c: u32,
  groups: u32,
  spatial: u32,
  pix: u32,
  chunksPerBatch: u32,
  batches: u32,
  eps: f32,
  groupsX: u32,
}

struct ApplyParams {
  cv: u32,
  spatial: u32,
  rowOffset: u32,
  count: u32,          // V elements in this chunk
  groupsX: u32,
}

@group(0) @binding(0) var<storage, read> x: array<V>;
@group(0) @binding(1) var<storage, read_write> partials: array<V>;
@group(0) @binding(2) var<uniform> sp: StatsParams;

@group(0) @binding(0) var<storage, read> partialsIn: array<f32>;
@group(0) @binding(1) var<storage, read> gamma: array<u32>;
@group(0) @binding(2) var<storage, read> beta: array<u32>;
@group(0) @binding(3) var<storage, read_write> table: array<f32>;
@group(0) @binding(4) var<uniform> fp: FinalizeParams;

@group(0) @binding(1) var<storage, read> tableIn: array<V>;
@group(0) @binding(2) var<storage, read_write> y: array<V>;
@group(0) @binding(3) var<uniform> ap: ApplyParams;

var<workgroup> wn: array<f32, TX * TY>;
var<workgroup> wmean: array<V, TX * TY>;
var<workgroup> wm2: array<V, TX * TY>;

@compute @workgroup_size(TX, TY)
fn stats(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let wg = wid.y * sp.groupsX + wid.x;
  let kLocal = wg / sp.cblocks;
  let c = (wg % sp.cblocks) * TX + lid.x;
  let k = sp.k0 + kLocal;
  let batch = k / sp.chunksPerBatch;
  let first = batch * sp.spatial + (k % sp.chunksPerBatch) * sp.pix;
  let end = min(first + sp.pix, (batch + 1u) * sp.spatial);
  var n = 0.0;
  var mean = V(0.0);
  var m2 = V(0.0);
  if (kLocal < sp.kCount && c < sp.cv) {
    for (var r = first + lid.y; r < end; r += TY) {
      let v = x[(r - sp.rowOffset) * sp.cv + c];
      n += 1.0;
      let d = v - mean;
      mean += d * (1.0 / n);
      m2 += d * (v - mean);
    }
  }
  let slot = lid.y * TX + lid.x;
  wn[slot] = n;
  wmean[slot] = mean;
  wm2[slot] = m2;
  for (var half = TY / 2u; half > 0u; half /= 2u) {
    workgroupBarrier();
    if (lid.y < half) {
      let other = slot + half * TX;
      let nb = wn[other];
      let na = wn[slot];
      let total = na + nb;
      if (nb > 0.0) {
        let d = wmean[other] - wmean[slot];
        wmean[slot] += d * (nb / total);
        wm2[slot] += wm2[other] + d * d * (na * nb / total);
        wn[slot] = total;
      }
    }
  }
  if (lid.y == 0u && kLocal < sp.kCount && c < sp.cv) {
    partials[k * 2u * sp.cv + c] = wmean[slot];
    partials[k * 2u * sp.cv + sp.cv + c] = wm2[slot];
  }
}

var<workgroup> fcount: array<f32, FWG>;
var<workgroup> fmean: array<f32, FWG>;
var<workgroup> fm2: array<f32, FWG>;

fn weight(words: u32, i: u32, f16: bool) -> f32 {
  if (f16) {
    return unpack2x16float(words)[i & 1u];
  }
  return bitcast<f32>(words);
}

@compute @workgroup_size(FWG)
fn finalize(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let bg = wid.y * fp.groupsX + wid.x;
  let cg = fp.c / fp.groups;
  let batch = bg / fp.groups;
  let group = bg % fp.groups;
  var n = 0.0;
  var mean = 0.0;
  var m2 = 0.0;
  if (batch < fp.batches) {
    for (var i = lid.x; i < fp.chunksPerBatch * cg; i += FWG) {
      let j = i / cg;
      let ch = group * cg + i % cg;
      let k = batch * fp.chunksPerBatch + j;
      let nb = f32(min(fp.pix, fp.spatial - j * fp.pix));
      let total = n + nb;
      let d = partialsIn[k * 2u * fp.c + ch] - mean;
      mean += d * (nb / total);
      m2 += partialsIn[k * 2u * fp.c + fp.c + ch] + d * d * (n * nb / total);
      n = total;
    }
  }
  fcount[lid.x] = n;
  fmean[lid.x] = mean;
  fm2[lid.x] = m2;
  for (var half = FWG / 2u; half > 0u; half /= 2u) {
    workgroupBarrier();
    if (lid.x < half) {
      let nb = fcount[lid.x + half];
      let na = fcount[lid.x];
      let total = na + nb;
      if (nb > 0.0) {
        let d = fmean[lid.x + half] - fmean[lid.x];
        fmean[lid.x] += d * (nb / total);
        fm2[lid.x] += fm2[lid.x + half] + d * d * (na * nb / total);
        fcount[lid.x] = total;
      }
    }
  }
  workgroupBarrier();
  if (batch >= fp.batches) {
    return;
  }
  let groupMean = fmean[0];
  let rstd = inverseSqrt(fm2[0] / fcount[0] + fp.eps);
  for (var ci = lid.x; ci < cg; ci += FWG) {
    let ch = group * cg + ci;
    let base = batch * 3u * fp.c + ch;
    table[base] = groupMean;
    table[base + fp.c] = rstd * weight(gamma[select(ch, ch >> 1u, GAMMA_F16)], ch, GAMMA_F16);
    table[base + 2u * fp.c] = weight(beta[select(ch, ch >> 1u, BETA_F16)], ch, BETA_F16);
  }
}

@compute @workgroup_size(WG)
fn apply(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let i = (wid.y * ap.groupsX + wid.x) * WG + lid.x;
  if (i >= ap.count) {
    return;
  }
  let row = ap.rowOffset + i / ap.cv;
  let c = i % ap.cv;
  let base = (row / ap.spatial) * 3u * ap.cv + c;
  var v = (x[i] - tableIn[base]) * tableIn[base + ap.cv] + tableIn[base + 2u * ap.cv];
  if (SILU) {
    v = v / (1.0 + exp(-v));
  }
  y[i] = v;
}
