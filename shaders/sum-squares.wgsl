// sum-squares: deterministic partial sums of x² (gradient norms, inf/NaN detection).
// Layout: flat f32 input; output one partial sum per workgroup, in workgroup order. Calling it again on
//         the partials (SQUARE = false) reduces them; the order is fixed, so results are bit-identical
//         run to run (no float atomics).
// Tiling: 256 threads, each summing a strided run of ITEMS elements, then a workgroup tree reduction.
// Precision: f32 accumulation. An inf or NaN anywhere makes the sum non-finite, which is the signal.
// Bindings: 0 x (read), 1 partials (write), 2 uniforms { count, groupsX }.
override SQUARE: bool = true;
const ITEMS: u32 = 8u;

struct Params {
  count: u32,
  groupsX: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> partials: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

var<workgroup> scratch: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let group = wid.y * params.groupsX + wid.x;
  let base = group * 256u * ITEMS;
  var acc = 0.0;
  for (var k = 0u; k < ITEMS; k++) {
    let i = base + k * 256u + lid;
    if (i < params.count) {
      let v = x[i];
      acc += select(v, v * v, SQUARE);
    }
  }
  scratch[lid] = acc;
  workgroupBarrier();
  for (var stride = 128u; stride > 0u; stride >>= 1u) {
    if (lid < stride) {
      scratch[lid] += scratch[lid + stride];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    partials[group] = scratch[0];
  }
}
