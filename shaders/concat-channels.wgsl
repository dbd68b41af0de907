// concat-channels: y [P, Ca + Cb] = [a [P, Ca], b [P, Cb]] along the channel (last) axis: the UNet skips.
// Layout: rows of channels as V (vec4 when Ca and Cb are multiples of 4); one output V per invocation,
//         so the writes are contiguous and each read is contiguous within its source.
// Grid: 2D (groupsX * y); the wrapper chunks pixel rows past the binding limit. Bindings: 0 a, 1 b, 2 y, 3 Params.
alias V = {{V}};

override WG: u32 = 256u;

struct Params {
  av: u32,
  bv: u32,
  count: u32,
  groupsX: u32,
}

@group(0) @binding(0) var<storage, read> a: array<V>;
@group(0) @binding(1) var<storage, read> b: array<V>;
@group(0) @binding(2) var<storage, read_write> y: array<V>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let i = (wid.y * params.groupsX + wid.x) * WG + lid.x;
  if (i >= params.count) {
    return;
  }
  let width = params.av + params.bv;
  let p = i / width;
  let c = i - p * width;
  if (c < params.av) {
    y[i] = a[p * params.av + c];
  } else {
    y[i] = b[p * params.bv + c - params.av];
  }
}
