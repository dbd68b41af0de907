// timestep-embedding: diffusers' get_timestep_embedding, y [B, dim] = [sin(a), cos(a)] (or [cos, sin] with
// flip_sin_to_cos) with a[n, i] = scale * (t[n] * freq[i]), and a zero column when dim is odd.
// Precision: as torch's f32 computation. freq (the f32 exp table) comes from the host, where the exponent
// is rounded step by step exactly as torch does; here t * freq and scale * a are single f32 products
// (correctly rounded in WGSL). sin/cos are our own (Cody-Waite reduction by pi/4 in three parts, then
// minimax polynomials on [-pi/4, pi/4], ~1e-7 absolute for |a| < 8192): WGSL's builtins only promise 2^-11
// absolute error, and only on [-pi, pi], while a reaches ~1000 here.
// Layout: one output value per invocation, 2D grid (groupsX * y). T: f32 or i32 timesteps.
// Bindings: 0 t [B], 1 freq [dim / 2], 2 y [B * dim], 3 Params.
override WG: u32 = 64u;

struct Params {
  count: u32,
  dim: u32,
  half: u32,
  flip: u32,
  scale: f32,
  groupsX: u32,
}

@group(0) @binding(0) var<storage, read> t: array<{{T}}>;
@group(0) @binding(1) var<storage, read> freq: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

// (sin x, cos x)
fn sincos(x: f32) -> vec2<f32> {
  let ax = abs(x);
  var octant = u32(ax * 1.27323954473516);
  octant += octant & 1u;
  let k = f32(octant);
  let r = ((ax - k * 0.78515625) - k * 2.4187564849853515625e-4) - k * 3.77489497744594108e-8;
  let z = r * r;
  let s = ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1) * z * r + r;
  let c = ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2) * z * z - 0.5 * z + 1.0;
  var sc: vec2<f32>;
  switch (octant & 7u) {
    case 0u: { sc = vec2<f32>(s, c); }
    case 2u: { sc = vec2<f32>(c, -s); }
    case 4u: { sc = vec2<f32>(-s, -c); }
    default: { sc = vec2<f32>(-c, s); }
  }
  return vec2<f32>(select(sc.x, -sc.x, x < 0.0), sc.y);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let p = params;
  let i = (wid.y * p.groupsX + wid.x) * WG + lid.x;
  if (i >= p.count) {
    return;
  }
  let n = i / p.dim;
  let j = i % p.dim;
  if (j >= 2u * p.half) {
    y[i] = 0.0;
    return;
  }
  let second = j >= p.half;
  let f = j - select(0u, p.half, second);
  let sc = sincos(p.scale * (f32(t[n]) * freq[f]));
  // Column order: [sin, cos], or [cos, sin] when flipped.
  y[i] = select(sc.x, sc.y, second != (p.flip == 1u));
}
