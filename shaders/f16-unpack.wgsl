// f16-unpack: halves packed two per 32-bit word -> f32.
// Layout: flat; word i holds elements 2i (low 16 bits) and 2i+1. Odd counts carry one padding half.
// Tiling: one word per invocation, 256 per workgroup; the grid is 2D (x * 256 words per row of y) so
//         tensors past 65535 workgroups still dispatch.
// Precision: exact (every f16 value is an f32 value); core WGSL unpack2x16float, no f16 extension.
// Bindings: 0 packed words (read), 1 out f32 (write), 2 uniforms { count, groupsX }.
struct Params {
  count: u32,
  groupsX: u32,
}

@group(0) @binding(0) var<storage, read> packed: array<u32>;
@group(0) @binding(1) var<storage, read_write> result: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.y * params.groupsX * 256u + gid.x;
  if (2u * i >= params.count) {
    return;
  }
  let v = unpack2x16float(packed[i]);
  result[2u * i] = v.x;
  if (2u * i + 1u < params.count) {
    result[2u * i + 1u] = v.y;
  }
}
