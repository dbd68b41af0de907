// embedding: y [rows, D] = table[ids[r]] for ids int32 [rows] and a table [V, D] (the CLIP token and
// position tables). Out-of-range ids give zero rows.
// Table: bound as array<u32>, f32 bits or (override F16) halves packed two per word (unpack2x16float, no
// f16 extension). A table past the storage binding limit is bound in row ranges [v0, vEnd): each
// dispatch writes the rows whose ids fall in its range, and the first also zeroes the others (writeAll),
// so y is complete after the last range. `base` is the half/float index of the bound chunk's first element.
// Layout: one output value per invocation (the op moves rows x D values, ~0.1 M for a prompt), 2D grid.
// Bindings: 0 ids, 1 table chunk, 2 y (read_write: later ranges update it in place), 3 Params.
override WG: u32 = 256u;
override F16: bool = false;

struct Params {
  count: u32,
  d: u32,
  v0: u32,
  vEnd: u32,
  base: u32,
  writeAll: u32,
  groupsX: u32,
}

@group(0) @binding(0) var<storage, read> ids: array<i32>;
@group(0) @binding(1) var<storage, read> table: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let p = params;
  let i = (wid.y * p.groupsX + wid.x) * WG + lid.x;
  if (i >= p.count) {
    return;
  }
  let id = ids[i / p.d];
  let inRange = id >= i32(p.v0) && id < i32(p.vEnd);
  if (!inRange) {
    if (p.writeAll == 1u) {
      y[i] = 0.0;
    }
    return;
  }
  let e = u32(id) * p.d + i % p.d - p.base;
  if (F16) {
    y[i] = unpack2x16float(table[e >> 1u])[e & 1u];
  } else {
    y[i] = bitcast<f32>(table[e]);
  }
}
