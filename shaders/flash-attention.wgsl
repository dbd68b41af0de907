// flash-attention: out = softmax(Q Kᵀ · scale) V per head, FlashAttention-2 style (online softmax);
// the score matrix never leaves registers and workgroup memory, so memory is linear in the sequence length.
// Layout: q [B, Lq, H·D], k and v [B, Lk, H·D], out [B, Lq, H·D]: heads interleaved in the last axis,
//   read as vec4 (D % 4 == 0; the wrapper pads other head dims). lse [B, Lq, H] = ln Σ_j exp(s_ij),
//   used to merge key chunks and by the backward pass.
// Tiling: a workgroup owns BQ query rows of one (batch, head); each thread holds RPT rows (rows r·BQ/RPT +
//   li/TPR) so that every workgroup-memory load feeds RPT FMAs. TPR threads share a row; each holds DPT vec4
//   columns (c4 = t + TPR·i, so neighbouring threads touch neighbouring vec4s) of the pre-scaled q rows and
//   of the output accumulators in registers: wide heads (512 for the VAE) are split across threads instead
//   of spilling. K and V stream through workgroup memory in tiles of BK keys. Per tile: scores of the
//   thread's rows go to workgroup memory (kept out of registers: fully unrolled register score arrays made
//   lavapipe's LLVM compile for minutes); with TPR > 1 they are partial sums that thread t completes for
//   keys j ≡ t (mod TPR); then every thread of a row reads the row's scores: online softmax update (running max m and sum l,
//   accumulators rescaled by exp2(m_old − m_new)), acc += p·V.
// Precision: f32 throughout; scores in the log2 domain (q pre-multiplied by scale·log2 e, then exp2).
// Causal: key j (local) is visible to query row i (local) when j <= i + causalShift; tiles past the block's
//   last visible key are skipped. Fully masked rows (a key chunk after the row) give out 0, lse MASKED.
// Grid: flat over (query block, batch, head), folded into x·y by the wrapper past
//   maxComputeWorkgroupsPerDimension; groupBase and groupEnd bound one of several dispatches.
// Bindings: 0 q, 1 k, 2 v (read), 3 out, 4 lse (write), 5 uniforms.
struct Params {
  lq: u32,
  lk: u32,
  heads: u32,
  qBlocks: u32,
  groupsX: u32,
  groupBase: u32,
  groupEnd: u32,
  kvBatchBase: u32,
  causalShift: i32,
  scaleLog2: f32,
}

const D4: u32 = {{D4}}u;
const TPR: u32 = {{TPR}}u;
const DPT: u32 = {{DPT}}u;
const BK: u32 = {{BK}}u;
const RPT: u32 = {{RPT}}u;
const CAUSAL: bool = {{CAUSAL}};
const MASKED: f32 = -3.0e38;
const LN2: f32 = 0.6931471805599453;

override BQ: u32 = 64u;

@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> result: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

var<workgroup> kTile: array<vec4<f32>, BK * D4>;
var<workgroup> vTile: array<vec4<f32>, BK * D4>;
// [row r of the thread][key j][thread]: dot products over each thread's columns; the first slot of a
// row group then holds the row's full score.
var<workgroup> scores: array<f32, BK * BQ * TPR>;

@compute @workgroup_size(BQ / RPT * TPR)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let id = params.groupBase + wg.y * params.groupsX + wg.x;
  if (id >= params.groupEnd) {
    return;
  }
  let block = id % params.qBlocks;
  let head = (id / params.qBlocks) % params.heads;
  let batch = id / (params.qBlocks * params.heads);
  let threads = BQ / RPT * TPR;
  let t = li % TPR;
  let rowFirst = li - t; // this row group's first thread: its partials start here
  let rowStride = params.heads * D4;
  let kvBase = (batch + params.kvBatchBase) * params.lk * rowStride + head * D4;

  // Thread rows r·BQ/RPT + li/TPR of the block: consecutive threads, consecutive rows.
  var qr: array<array<vec4<f32>, DPT>, RPT>;
  var acc: array<array<vec4<f32>, DPT>, RPT>;
  var qBase: array<u32, RPT>;
  var rowKeyEnd: array<u32, RPT>;
  var m: array<f32, RPT>;
  var l: array<f32, RPT>;
  for (var r = 0u; r < RPT; r++) {
    let row = block * BQ + r * (BQ / RPT) + li / TPR;
    qBase[r] = (batch * params.lq + min(row, params.lq - 1u)) * rowStride + head * D4;
    rowKeyEnd[r] = params.lk;
    if (CAUSAL) {
      rowKeyEnd[r] = u32(clamp(i32(row) + params.causalShift + 1, 0, i32(params.lk)));
    }
    m[r] = MASKED;
    l[r] = 0.0;
    for (var i = 0u; i < DPT; i++) {
      let c4 = t + TPR * i;
      qr[r][i] = vec4(0.0);
      acc[r][i] = vec4(0.0);
      if (c4 < D4) {
        qr[r][i] = q[qBase[r] + c4] * params.scaleLog2;
      }
    }
  }

  // Keys this workgroup needs: causal rows stop at their own position.
  var keyEnd = params.lk;
  if (CAUSAL) {
    let lastRow = i32(min(block * BQ + BQ, params.lq)) - 1;
    keyEnd = u32(clamp(lastRow + params.causalShift + 1, 0, i32(params.lk)));
  }

  for (var key0 = 0u; key0 < keyEnd; key0 += BK) {
    for (var e = li; e < BK * D4; e += threads) {
      let key = key0 + e / D4;
      var kv = vec4(0.0);
      var vv = vec4(0.0);
      if (key < params.lk) {
        let g = kvBase + key * rowStride + e % D4;
        kv = k[g];
        vv = v[g];
      }
      kTile[e] = kv;
      vTile[e] = vv;
    }
    workgroupBarrier();

    // Scores of this thread's rows; each K element loaded feeds RPT rows.
    for (var j = 0u; j < BK; j++) {
      var sc = array<f32, RPT>();
      for (var i = 0u; i < DPT; i++) {
        let c4 = t + TPR * i;
        if (c4 < D4) {
          let kj = kTile[j * D4 + c4];
          for (var r = 0u; r < RPT; r++) {
            sc[r] += dot(qr[r][i], kj);
          }
        }
      }
      for (var r = 0u; r < RPT; r++) {
        scores[(r * BK + j) * threads + li] = sc[r];
      }
    }
    if (TPR > 1u) {
      // Thread t completes the scores of keys j ≡ t (mod TPR) in its row group's first slot.
      workgroupBarrier();
      for (var r = 0u; r < RPT; r++) {
        for (var j = t; j < BK; j += TPR) {
          var sum = 0.0;
          for (var u = 0u; u < TPR; u++) {
            sum += scores[(r * BK + j) * threads + rowFirst + u];
          }
          scores[(r * BK + j) * threads + rowFirst] = sum;
        }
      }
      workgroupBarrier();
    }

    var mNew: array<f32, RPT>;
    for (var r = 0u; r < RPT; r++) {
      var tileMax = MASKED;
      for (var j = 0u; j < BK; j++) {
        tileMax = select(tileMax, max(tileMax, scores[(r * BK + j) * threads + rowFirst]), key0 + j < rowKeyEnd[r]);
      }
      mNew[r] = max(m[r], tileMax);
      let alpha = exp2(m[r] - mNew[r]);
      m[r] = mNew[r];
      l[r] *= alpha;
      for (var i = 0u; i < DPT; i++) {
        acc[r][i] *= alpha;
      }
    }
    // Each V element loaded feeds RPT rows.
    for (var j = 0u; j < BK; j++) {
      var p: array<f32, RPT>;
      for (var r = 0u; r < RPT; r++) {
        p[r] = select(0.0, exp2(scores[(r * BK + j) * threads + rowFirst] - mNew[r]), key0 + j < rowKeyEnd[r]);
        l[r] += p[r];
      }
      for (var i = 0u; i < DPT; i++) {
        let c4 = t + TPR * i;
        if (c4 < D4) {
          let vj = vTile[j * D4 + c4];
          for (var r = 0u; r < RPT; r++) {
            acc[r][i] += p[r] * vj;
          }
        }
      }
    }
    workgroupBarrier();
  }

  for (var r = 0u; r < RPT; r++) {
    let row = block * BQ + r * (BQ / RPT) + li / TPR;
    if (row < params.lq) {
      let inv = select(0.0, 1.0 / l[r], l[r] > 0.0);
      for (var i = 0u; i < DPT; i++) {
        let c4 = t + TPR * i;
        if (c4 < D4) {
          result[qBase[r] + c4] = acc[r][i] * inv;
        }
      }
      if (t == 0u) {
        lse[(batch * params.lq + row) * params.heads + head] = select(MASKED, (m[r] + log2(l[r])) * LN2, l[r] > 0.0);
      }
    }
  }
}
