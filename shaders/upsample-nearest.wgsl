// upsample-nearest: y [B, OH, OW, C] from x [B, H, W, C] as torch's F.interpolate(mode='nearest'):
// source index = dst (same size), dst >> 1 (exactly 2x), else min(floor(f32(dst) * scale), in - 1) with
// scale = f32(in) / out computed on the host in f32 as torch does (so rounding matches, e.g. 4 -> 7).
// Layout: NHWC, channels as V (vec4 when C % 4 == 0): one output V per invocation, contiguous along C.
// Chunking: the dispatch covers output rows (b * OH + oy) from outRow0; x is bound from input row inRow0.
// Grid: 2D (groupsX * y). Bindings: 0 x, 1 y, 2 Params.
alias V = {{V}};

override WG: u32 = 256u;

struct Params {
  cv: u32,
  h: u32,
  w: u32,
  oh: u32,
  ow: u32,
  outRow0: u32,
  inRow0: u32,
  count: u32,
  groupsX: u32,
  scaleY: f32,
  scaleX: f32,
}

@group(0) @binding(0) var<storage, read> x: array<V>;
@group(0) @binding(1) var<storage, read_write> y: array<V>;
@group(0) @binding(2) var<uniform> params: Params;

fn source(dst: u32, size: u32, outSize: u32, scale: f32) -> u32 {
  if (outSize == size) {
    return dst;
  }
  if (outSize == 2u * size) {
    return dst >> 1u;
  }
  return min(u32(floor(f32(dst) * scale)), size - 1u);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let p = params;
  let i = (wid.y * p.groupsX + wid.x) * WG + lid.x;
  if (i >= p.count) {
    return;
  }
  let c = i % p.cv;
  let pixel = i / p.cv;
  let ox = pixel % p.ow;
  let row = p.outRow0 + pixel / p.ow;
  let batch = row / p.oh;
  let inRow = batch * p.h + source(row % p.oh, p.h, p.oh, p.scaleY);
  let sx = source(ox, p.w, p.ow, p.scaleX);
  y[i] = x[((inRow - p.inRow0) * p.w + sx) * p.cv + c];
}
