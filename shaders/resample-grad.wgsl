// resample-grad: gradients of nearest upsampling and channel concatenation (NHWC, channels as V: vec4
// when the channel counts allow).
//   upsample: dx [B, H, W, C] from dy [B, OH, OW, C]: each source pixel sums dy over its copies. Nearest
//             source indices are monotone, so the copies of source row iy are the output rows
//             spans[iy] .. spans[iy + 1] - 1 and of column ix the columns spans[H + 1 + ix] ..
//             spans[H + 1 + ix + 1] - 1 (tables made on the host with the forward's float32 index rule;
//             empty when downsampling skips a row). One dx V per invocation gathers its copies in
//             row-major order: no atomics, no scatter. Chunking: the dispatch covers dx rows (b * H + iy)
//             from dxRow0 and the dy rows (b * OH + oy) bound, [dyRow0, dyRowEnd); when one dx row's
//             copies span more dy rows than a binding holds, successive dispatches over consecutive dy
//             row ranges add to dx (accumulate = 1), still in a fixed order.
//   split:    y [P, Cs] = x [P, Ctot][:, c0 : c0 + Cs]: one half of concat's dy, one V per invocation.
// Grid: 2D (groupsX * y).
// Bindings:
//   upsample: 0 dy, 1 spans (u32), 2 dx (out), 3 UpsampleParams
//   split:    0 x, 1 y (out), 2 SplitParams
alias V = {{V}};

override WG: u32 = 256u;

struct UpsampleParams {
  cv: u32,
  h: u32,
  w: u32,
  oh: u32,
  ow: u32,
  dxRow0: u32,
  dyRow0: u32,
  dyRowEnd: u32,
  accumulate: u32,
  count: u32,
  groupsX: u32,
}

struct SplitParams {
  count: u32,
  groupsX: u32,
  totalV: u32,
  firstV: u32,
  widthV: u32,
}

@group(0) @binding(0) var<storage, read> src: array<V>;
@group(0) @binding(1) var<storage, read> spans: array<u32>;
@group(0) @binding(2) var<storage, read_write> dx: array<V>;
@group(0) @binding(3) var<uniform> up: UpsampleParams;

@group(0) @binding(1) var<storage, read_write> part: array<V>;
@group(0) @binding(2) var<uniform> sp: SplitParams;

@compute @workgroup_size(WG)
fn upsample(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let p = up;
  let i = (wid.y * p.groupsX + wid.x) * WG + lid.x;
  if (i >= p.count) {
    return;
  }
  let c = i % p.cv;
  let pixel = i / p.cv;
  let ix = pixel % p.w;
  let row = p.dxRow0 + pixel / p.w;
  let batch = row / p.h;
  let iy = row % p.h;
  let x0 = spans[p.h + 1u + ix];
  let x1 = spans[p.h + 2u + ix];
  let lo = max(batch * p.oh + spans[iy], p.dyRow0);
  let hi = min(batch * p.oh + spans[iy + 1u], p.dyRowEnd);
  var s = V(0.0);
  for (var g = lo; g < hi; g++) {
    let base = (g - p.dyRow0) * p.ow;
    for (var ox = x0; ox < x1; ox++) {
      s += src[(base + ox) * p.cv + c];
    }
  }
  if (p.accumulate != 0u) {
    s = dx[i] + s;
  }
  dx[i] = s;
}

@compute @workgroup_size(WG)
fn split(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let i = (wid.y * sp.groupsX + wid.x) * WG + lid.x;
  if (i >= sp.count) {
    return;
  }
  let pixel = i / sp.widthV;
  part[i] = src[pixel * sp.totalV + sp.firstV + i - pixel * sp.widthV];
}
