// flash-attention-grad: the gradient of out = softmax(Q Kᵀ · scale) V per head, FlashAttention-2 style:
// the scores are recomputed tile by tile from Q, K and the forward's log-sum-exp, never stored.
// With P = exp(S − lse), dP = dO Vᵀ, Dᵢ = rowsum(dO ∘ O)ᵢ, dS = P ∘ (dP − D):
//   dV = Pᵀ dO,  dK = scale · dSᵀ Q,  dQ = scale · dS K.
// Layout: q, dO, dQ [B, Lq, H·D]; k, v, dK, dV [B, Lk, H·D] (heads interleaved in the last axis, read as
//   vec4: D % 4 == 0, the wrapper pads other head dims); lse [B, Lq, H] natural log (forward's output);
//   stats [B, Lq, H] vec2 = (lse · log2 e, D), written by `rowStats`, read by both gradient passes.
// Passes (deterministic, no atomics: every output element has one owner that sums in a fixed order):
//   rowStats: one invocation per (row, head): D = dO·O, lse to the log2 domain (fully masked rows, lse
//     MASKED, get +BIG so that their p is 0).
//   keys:     a workgroup owns BR key rows of one (batch, head), holds their k (pre-scaled by scale·log2 e)
//     and v and the dK, dV accumulators in registers, and streams all query rows (from the first one that
//     sees the block under the causal mask) through workgroup memory in tiles of BT rows of q and dO.
//   queries:  a workgroup owns BR query rows, holds q (pre-scaled), dO and the dQ accumulator in registers
//     and streams K and V in tiles of BT keys; tiles past the block's last visible key are skipped.
// Tiling (both gradient passes, as the forward): each thread holds RPT rows (r·BR/RPT + li/TPR), TPR threads
//   share a row and each holds DPT vec4 columns (c4 = t + TPR·i); with TPR > 1 the partial dot products
//   (scores and dP) are summed through workgroup memory (each thread totals BT·RPT/TPR of them), after
//   which all TPR threads of a row hold them.
// Precision: f32 throughout; scores in the log2 domain (exp2). `accumulate` adds to the output's contents
//   (key or query chunks past the storage binding limit, summed in chunk order).
// Causal: key j (local) is visible to query i (local) when j <= i + causalShift.
// Grid: flat over (block, batch, head), folded into x·y past maxComputeWorkgroupsPerDimension; groupBase and
//   groupEnd bound one of several dispatches. rowStats: flat over items, ITEMS_PER_GROUP per workgroup.
// Bindings:
//   rowStats: 0 o, 1 dO, 2 lse (read), 3 stats (write), 4 StatParams
//   keys:     0 q, 1 k, 2 v, 3 dO, 4 stats (read), 5 dK, 6 dV (read_write), 7 Params
//   queries:  0 q, 1 k, 2 v, 3 dO, 4 stats (read), 5 dQ (read_write), 6 Params
struct Params {
  lq: u32,
  lk: u32,
  heads: u32,
  blocks: u32,
  groupsX: u32,
  groupBase: u32,
  groupEnd: u32,
  accumulate: u32,
  causalShift: i32,
  scaleLog2: f32,
  scale: f32,
}

struct StatParams {
  items: u32,
  groupsX: u32,
  itemBase: u32,
}

const D4: u32 = {{D4}}u;
const TPR: u32 = {{TPR}}u;
const DPT: u32 = {{DPT}}u;
const BT: u32 = {{BT}}u;
const RPT: u32 = {{RPT}}u;
const CAUSAL: bool = {{CAUSAL}};
const MASKED: f32 = -3.0e38;
const BIG: f32 = 3.0e38;
const LOG2E: f32 = 1.4426950408889634;
const ITEMS_PER_GROUP: u32 = 64u;

override BR: u32 = 64u;

alias Rows = array<array<vec4<f32>, DPT>, RPT>;
alias Scores = array<array<f32, BT>, RPT>;

@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> stats: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read_write> grad0: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> grad1: array<vec4<f32>>;
@group(0) @binding(7) var<uniform> params: Params;
@group(0) @binding(6) var<uniform> paramsQ: Params;

@group(0) @binding(0) var<storage, read> o: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> doutRows: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> lse: array<f32>;
@group(0) @binding(3) var<storage, read_write> statsOut: array<vec2<f32>>;
@group(0) @binding(4) var<uniform> sp: StatParams;

// keys: q and dO rows; queries: k and v rows.
var<workgroup> aTile: array<vec4<f32>, BT * D4>;
var<workgroup> bTile: array<vec4<f32>, BT * D4>;
var<workgroup> statTile: array<vec2<f32>, BT>;
// [row r][tile index][thread]: partial dot products over each thread's columns.
var<workgroup> partialA: array<f32, BT * BR * TPR>;
var<workgroup> partialB: array<f32, BT * BR * TPR>;

@compute @workgroup_size(ITEMS_PER_GROUP)
fn rowStats(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let item = sp.itemBase + (wg.y * sp.groupsX + wg.x) * ITEMS_PER_GROUP + li;
  if (item >= sp.items) {
    return;
  }
  // [row, head] items are contiguous D4-vector runs of o and dO.
  var dsum = vec4(0.0);
  for (var c = 0u; c < D4; c++) {
    dsum += o[item * D4 + c] * doutRows[item * D4 + c];
  }
  let l = lse[item];
  statsOut[item] = vec2(select(l * LOG2E, BIG, l <= MASKED), dsum.x + dsum.y + dsum.z + dsum.w);
}

// With TPR > 1: sums a and b over the TPR threads of each row; every thread of the workgroup must call it.
// Thread t of a row totals the entries e ≡ t (mod TPR) into its row's slot u = 0 (which only it reads), so
// each partial is read once; then every thread of the row reads all totals.
fn rowReduce(a: ptr<function, Scores>, b: ptr<function, Scores>, li: u32) {
  if (TPR == 1u) {
    return;
  }
  let threads = BR / RPT * TPR;
  let rowFirst = li - li % TPR;
  for (var r = 0u; r < RPT; r++) {
    for (var j = 0u; j < BT; j++) {
      partialA[(r * BT + j) * threads + li] = (*a)[r][j];
      partialB[(r * BT + j) * threads + li] = (*b)[r][j];
    }
  }
  workgroupBarrier();
  for (var e = li % TPR; e < RPT * BT; e += TPR) {
    var sa = 0.0;
    var sb = 0.0;
    for (var u = 0u; u < TPR; u++) {
      sa += partialA[e * threads + rowFirst + u];
      sb += partialB[e * threads + rowFirst + u];
    }
    partialA[e * threads + rowFirst] = sa;
    partialB[e * threads + rowFirst] = sb;
  }
  workgroupBarrier();
  for (var r = 0u; r < RPT; r++) {
    for (var j = 0u; j < BT; j++) {
      (*a)[r][j] = partialA[(r * BT + j) * threads + rowFirst];
      (*b)[r][j] = partialB[(r * BT + j) * threads + rowFirst];
    }
  }
}

// Block, head and batch of this workgroup (x of the result: block; y: head; z: batch), or none past groupEnd.
fn groupOf(p: Params, wg: vec3u) -> vec4u {
  let id = p.groupBase + wg.y * p.groupsX + wg.x;
  return vec4(id % p.blocks, (id / p.blocks) % p.heads, id / (p.blocks * p.heads), u32(id < p.groupEnd));
}

@compute @workgroup_size(BR / RPT * TPR)
fn keys(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let g = groupOf(params, wg);
  if (g.w == 0u) {
    return;
  }
  let block = g.x;
  let head = g.y;
  let batch = g.z;
  let threads = BR / RPT * TPR;
  let t = li % TPR;
  let rowStride = params.heads * D4;
  let qBase = batch * params.lq * rowStride + head * D4;
  let statBase = batch * params.lq * params.heads + head;

  var kr: Rows;
  var vr: Rows;
  var dk: Rows;
  var dv: Rows;
  var key: array<u32, RPT>;
  var kBase: array<u32, RPT>;
  for (var r = 0u; r < RPT; r++) {
    key[r] = block * BR + r * (BR / RPT) + li / TPR;
    kBase[r] = (batch * params.lk + min(key[r], params.lk - 1u)) * rowStride + head * D4;
    for (var i = 0u; i < DPT; i++) {
      let c4 = t + TPR * i;
      kr[r][i] = vec4(0.0);
      vr[r][i] = vec4(0.0);
      dk[r][i] = vec4(0.0);
      dv[r][i] = vec4(0.0);
      if (c4 < D4) {
        kr[r][i] = k[kBase[r] + c4] * params.scaleLog2;
        vr[r][i] = v[kBase[r] + c4];
      }
    }
  }

  // Causal: the block's first key is first seen by query row (first key − causalShift).
  var queryStart = 0u;
  if (CAUSAL) {
    queryStart = u32(clamp(i32(block * BR) - params.causalShift, 0, i32(params.lq)));
  }

  for (var q0 = queryStart; q0 < params.lq; q0 += BT) {
    for (var e = li; e < BT * D4; e += threads) {
      let row = q0 + e / D4;
      var qv = vec4(0.0);
      var ov = vec4(0.0);
      if (row < params.lq) {
        let gi = qBase + row * rowStride + e % D4;
        qv = q[gi];
        ov = dout[gi];
      }
      aTile[e] = qv;
      bTile[e] = ov;
    }
    for (var e = li; e < BT; e += threads) {
      statTile[e] = select(vec2(BIG, 0.0), stats[statBase + min(q0 + e, params.lq - 1u) * params.heads], q0 + e < params.lq);
    }
    workgroupBarrier();

    // s = scaled scores (log2 domain), dp = dO·v, for the thread's key rows against every query of the tile.
    var s: Scores;
    var dp: Scores;
    for (var j = 0u; j < BT; j++) {
      for (var r = 0u; r < RPT; r++) {
        s[r][j] = 0.0;
        dp[r][j] = 0.0;
      }
      for (var i = 0u; i < DPT; i++) {
        let c4 = t + TPR * i;
        if (c4 < D4) {
          let qj = aTile[j * D4 + c4];
          let oj = bTile[j * D4 + c4];
          for (var r = 0u; r < RPT; r++) {
            s[r][j] += dot(qj, kr[r][i]);
            dp[r][j] += dot(oj, vr[r][i]);
          }
        }
      }
    }
    rowReduce(&s, &dp, li);

    // s becomes p, dp becomes dS (without the scale, applied once at the end).
    for (var r = 0u; r < RPT; r++) {
      for (var j = 0u; j < BT; j++) {
        let st = statTile[j];
        var visible = q0 + j < params.lq;
        if (CAUSAL) {
          visible = visible && i32(key[r]) <= i32(q0 + j) + params.causalShift;
        }
        let p = select(0.0, exp2(s[r][j] - st.x), visible);
        s[r][j] = p;
        dp[r][j] = p * (dp[r][j] - st.y);
      }
    }
    for (var j = 0u; j < BT; j++) {
      for (var i = 0u; i < DPT; i++) {
        let c4 = t + TPR * i;
        if (c4 < D4) {
          let qj = aTile[j * D4 + c4];
          let oj = bTile[j * D4 + c4];
          for (var r = 0u; r < RPT; r++) {
            dv[r][i] += s[r][j] * oj;
            dk[r][i] += dp[r][j] * qj;
          }
        }
      }
    }
    workgroupBarrier();
  }

  let acc = params.accumulate != 0u;
  for (var r = 0u; r < RPT; r++) {
    if (key[r] < params.lk) {
      for (var i = 0u; i < DPT; i++) {
        let c4 = t + TPR * i;
        if (c4 < D4) {
          let gi = kBase[r] + c4;
          let dkv = dk[r][i] * params.scale;
          let dvv = dv[r][i];
          grad0[gi] = select(dkv, grad0[gi] + dkv, acc);
          grad1[gi] = select(dvv, grad1[gi] + dvv, acc);
        }
      }
    }
  }
}

@compute @workgroup_size(BR / RPT * TPR)
fn queries(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let g = groupOf(paramsQ, wg);
  if (g.w == 0u) {
    return;
  }
  let block = g.x;
  let head = g.y;
  let batch = g.z;
  let threads = BR / RPT * TPR;
  let t = li % TPR;
  let rowStride = paramsQ.heads * D4;
  let kvBase = batch * paramsQ.lk * rowStride + head * D4;

  var qr: Rows;
  var dor: Rows;
  var dq: Rows;
  var qBase: array<u32, RPT>;
  var rowKeyEnd: array<u32, RPT>;
  var st: array<vec2<f32>, RPT>;
  for (var r = 0u; r < RPT; r++) {
    let row = block * BR + r * (BR / RPT) + li / TPR;
    let rowC = min(row, paramsQ.lq - 1u);
    qBase[r] = (batch * paramsQ.lq + rowC) * rowStride + head * D4;
    st[r] = stats[(batch * paramsQ.lq + rowC) * paramsQ.heads + head];
    rowKeyEnd[r] = paramsQ.lk;
    if (CAUSAL) {
      rowKeyEnd[r] = u32(clamp(i32(row) + paramsQ.causalShift + 1, 0, i32(paramsQ.lk)));
    }
    for (var i = 0u; i < DPT; i++) {
      let c4 = t + TPR * i;
      qr[r][i] = vec4(0.0);
      dor[r][i] = vec4(0.0);
      dq[r][i] = vec4(0.0);
      if (c4 < D4) {
        qr[r][i] = q[qBase[r] + c4] * paramsQ.scaleLog2;
        dor[r][i] = dout[qBase[r] + c4];
      }
    }
  }

  var keyEnd = paramsQ.lk;
  if (CAUSAL) {
    let lastRow = i32(min(block * BR + BR, paramsQ.lq)) - 1;
    keyEnd = u32(clamp(lastRow + paramsQ.causalShift + 1, 0, i32(paramsQ.lk)));
  }

  for (var key0 = 0u; key0 < keyEnd; key0 += BT) {
    for (var e = li; e < BT * D4; e += threads) {
      let key = key0 + e / D4;
      var kv = vec4(0.0);
      var vv = vec4(0.0);
      if (key < paramsQ.lk) {
        let gi = kvBase + key * rowStride + e % D4;
        kv = k[gi];
        vv = v[gi];
      }
      aTile[e] = kv;
      bTile[e] = vv;
    }
    workgroupBarrier();

    var s: Scores;
    var dp: Scores;
    for (var j = 0u; j < BT; j++) {
      for (var r = 0u; r < RPT; r++) {
        s[r][j] = 0.0;
        dp[r][j] = 0.0;
      }
      for (var i = 0u; i < DPT; i++) {
        let c4 = t + TPR * i;
        if (c4 < D4) {
          let kj = aTile[j * D4 + c4];
          let vj = bTile[j * D4 + c4];
          for (var r = 0u; r < RPT; r++) {
            s[r][j] += dot(qr[r][i], kj);
            dp[r][j] += dot(dor[r][i], vj);
          }
        }
      }
    }
    rowReduce(&s, &dp, li);

    for (var r = 0u; r < RPT; r++) {
      for (var j = 0u; j < BT; j++) {
        let p = select(0.0, exp2(s[r][j] - st[r].x), key0 + j < rowKeyEnd[r]);
        dp[r][j] = p * (dp[r][j] - st[r].y);
      }
    }
    for (var j = 0u; j < BT; j++) {
      for (var i = 0u; i < DPT; i++) {
        let c4 = t + TPR * i;
        if (c4 < D4) {
          let kj = aTile[j * D4 + c4];
          for (var r = 0u; r < RPT; r++) {
            dq[r][i] += dp[r][j] * kj;
          }
        }
      }
    }
    workgroupBarrier();
  }

  let acc = paramsQ.accumulate != 0u;
  for (var r = 0u; r < RPT; r++) {
    let row = block * BR + r * (BR / RPT) + li / TPR;
    if (row < paramsQ.lq) {
      for (var i = 0u; i < DPT; i++) {
        let c4 = t + TPR * i;
        if (c4 < D4) {
          let gi = qBase[r] + c4;
          let dqv = dq[r][i] * paramsQ.scale;
          grad0[gi] = select(dqv, grad0[gi] + dqv, acc);
        }
      }
    }
  }
}
