// accumulate: gradient accumulation buffers, in place: acc = x (first micro-batch) or acc += x.
// Layout: flat f32; 2D grid of 256-thread workgroups (groupsX per row) past the dispatch limit.
// Precision: f32. Bindings: 0 x (read), 1 acc (read_write), 2 uniforms { count, groupsX }.
override FIRST: bool = false;

struct Params {
  count: u32,
  groupsX: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> acc: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.y * params.groupsX * 256u + gid.x;
  if (i >= params.count) {
    return;
  }
  acc[i] = select(acc[i] + x[i], x[i], FIRST);
}
