// layer-norm-grad: the gradient of y = x̂ * gamma + beta, x̂ = (x - mean) * rstd over each row of
// x [rows, C] (C % 4 == 0). With g = gamma * dy:
//   dx = rstd * (g - Σg / C - x̂ * Σ(g x̂) / C)  per row;  dgamma = Σ_rows dy x̂,  dbeta = Σ_rows dy.
// Tiling: a workgroup of TPR x RPW invocations takes RPW * loops consecutive rows, lane y of them rows
//         y, y + RPW, ...; the TPR invocations of a row hold its channel vectors t, t + TPR, ... (VPT of
//         them) in registers, so x and dy are read once with coalesced vec4 loads. The statistics are
//         recomputed two-pass as the forward (mean, then mean of squared deviations); the row sums are
//         workgroup tree reductions.
// Weight gradient (entry mainW): each invocation accumulates dy x̂ and dy of its channel vectors over its
//         rows in registers; at the end the RPW lanes are summed in lane order into one partial row per
//         workgroup, partials [workgroups, 2, C] (dbeta, then dgamma), then `weights` sums the partial rows
//         of each channel in order. No atomics: the gradient is reproducible bit for bit.
// Precision: f32; gamma bound as array<u32>: f32 bits or f16 halves packed two per word (GAMMA_F16).
// Grid: 2D (groupsX * y) over this chunk's workgroups; the wrapper chunks rows past the binding limit
//       at multiples of RPW * loops rows, and wg0 is the chunk's first workgroup (its partial row).
// Bindings:
//   main:    0 gamma, 1 x, 2 dy, 3 dx (out), 4 Params        (frozen gamma and beta: dx only)
//   mainW:   0 gamma, 1 x, 2 dy, 3 dx (out), 4 partials (out), 5 Params
//   weights: 0 partials, 1 dgamma (out), 2 dbeta (out), 3 WeightParams
const VPT: u32 = {{VPT}}u;

override TPR: u32 = 16u;
override RPW: u32 = 4u;
override WG: u32 = 256u;
override GAMMA_F16: bool = false;

struct Params {
  cv: u32,
  rows: u32,
  eps: f32,
  groupsX: u32,
  wg0: u32,
  loops: u32,          // rows per lane
}

struct WeightParams {
  cv: u32,
  partialRows: u32,
  groupsX: u32,
}

@group(0) @binding(0) var<storage, read> gamma: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> dy: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> dx: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> params: Params;
@group(0) @binding(4) var<storage, read_write> partials: array<vec4<f32>>;
@group(0) @binding(5) var<uniform> paramsW: Params;

@group(0) @binding(0) var<storage, read> partialsIn: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> dgamma: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dbeta: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> wp: WeightParams;

var<workgroup> partial: array<vec2<f32>, TPR * RPW>;
var<workgroup> laneG: array<vec4<f32>, TPR * RPW>;
var<workgroup> laneB: array<vec4<f32>, TPR * RPW>;

var<private> accG: array<vec4<f32>, VPT>;
var<private> accB: array<vec4<f32>, VPT>;

// Sum over the TPR invocations of one row; every invocation of the workgroup must call it.
fn rowSum(v: vec2<f32>, slot: u32, t: u32) -> vec2<f32> {
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

// The rows of this workgroup; with `wgrad`, dy x̂ and dy summed per channel vector into accG / accB.
fn rows(p: Params, lid: vec3u, wg: u32, wgrad: bool) {
  let t = lid.x;
  let slot = lid.y * TPR + t;
  let cv = p.cv;
  let n = f32(4u * cv);
  for (var k = 0u; k < VPT; k++) {
    accG[k] = vec4<f32>(0.0);
    accB[k] = vec4<f32>(0.0);
  }
  var v: array<vec4<f32>, VPT>;
  var d: array<vec4<f32>, VPT>;
  for (var it = 0u; it < p.loops; it++) {
    let row = (wg * p.loops + it) * RPW + lid.y;
    let live = row < p.rows;
    let base = min(row, p.rows - 1u) * cv;
    var s = vec4<f32>(0.0);
    for (var k = 0u; k < VPT; k++) {
      let c = t + k * TPR;
      let inside = c < cv && live;
      v[k] = select(vec4<f32>(0.0), x[base + min(c, cv - 1u)], inside);
      d[k] = select(vec4<f32>(0.0), dy[base + min(c, cv - 1u)], inside);
      s += v[k];
    }
    let mean = rowSum(vec2<f32>(dot(s, vec4<f32>(1.0)), 0.0), slot, t).x / n;
    var q = vec4<f32>(0.0);
    for (var k = 0u; k < VPT; k++) {
      let e = select(vec4<f32>(0.0), v[k] - mean, t + k * TPR < cv);
      q += e * e;
    }
    let rstd = inverseSqrt(rowSum(vec2<f32>(dot(q, vec4<f32>(1.0)), 0.0), slot, t).x / n + p.eps);
    var sg = vec4<f32>(0.0);
    var sgx = vec4<f32>(0.0);
    for (var k = 0u; k < VPT; k++) {
      let c = t + k * TPR;
      // x̂ kept in v, gamma * dy in d (zero outside the row: d is zero there).
      v[k] = select(vec4<f32>(0.0), (v[k] - mean) * rstd, c < cv);
      if (wgrad) {
        accG[k] += d[k] * v[k];
        accB[k] += d[k];
      }
      d[k] *= gammaAt(min(c, cv - 1u));
      sg += d[k];
      sgx += d[k] * v[k];
    }
    let sums = rowSum(vec2<f32>(dot(sg, vec4<f32>(1.0)), dot(sgx, vec4<f32>(1.0))), slot, t) / n;
    for (var k = 0u; k < VPT; k++) {
      let c = t + k * TPR;
      if (live && c < cv) {
        dx[base + c] = rstd * (d[k] - sums.x - v[k] * sums.y);
      }
    }
  }
}

@compute @workgroup_size(TPR, RPW)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let p = params;
  rows(p, lid, wid.y * p.groupsX + wid.x, false);
}

@compute @workgroup_size(TPR, RPW)
fn mainW(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let p = paramsW;
  let wg = wid.y * p.groupsX + wid.x;
  rows(p, lid, wg, true);
  let t = lid.x;
  let slot = lid.y * TPR + t;
  let out = (p.wg0 + wg) * 2u * p.cv;
  for (var k = 0u; k < VPT; k++) {
    laneG[slot] = accG[k];
    laneB[slot] = accB[k];
    workgroupBarrier();
    let c = t + k * TPR;
    if (lid.y == 0u && c < p.cv) {
      var g = vec4<f32>(0.0);
      var b = vec4<f32>(0.0);
      for (var l = 0u; l < RPW; l++) {
        g += laneG[l * TPR + t];
        b += laneB[l * TPR + t];
      }
      partials[out + c] = b;
      partials[out + p.cv + c] = g;
    }
    workgroupBarrier();
  }
}

@compute @workgroup_size(WG)
fn weights(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let c = (wid.y * wp.groupsX + wid.x) * WG + lid.x;
  if (c >= wp.cv) {
    return;
  }
  var b = vec4<f32>(0.0);
  var g = vec4<f32>(0.0);
  for (var r = 0u; r < wp.partialRows; r++) {
    b += partialsIn[r * 2u * wp.cv + c];
    g += partialsIn[r * 2u * wp.cv + wp.cv + c];
  }
  dgamma[c] = g;
  dbeta[c] = b;
}
