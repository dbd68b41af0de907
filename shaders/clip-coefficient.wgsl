// clip-coefficient: from per-tensor sums of squares of the raw (loss-scaled, accumulated) gradients to
// the factor AdamW multiplies them by, computed on the GPU so the training loop never waits on a readback.
// Layout: sums [T] f32 -> out [2]: out[0] = invScale * min(1, maxNorm / (norm + 1e-6)) (or invScale when
//         maxNorm <= 0), out[1] = 1 if every gradient is finite else 0 (the step is skipped).
// Tiling: one thread; T is the number of parameter tensors (hundreds), summed in a fixed order.
// Bindings: 0 sums (read), 1 out (write), 2 uniforms { count, invScale, maxNorm }.
struct Params {
  count: u32,
  invScale: f32,
  maxNorm: f32,
}

@group(0) @binding(0) var<storage, read> sums: array<f32>;
@group(0) @binding(1) var<storage, read_write> result: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

fn isFinite(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u;
}

@compute @workgroup_size(1)
fn main() {
  var total = 0.0;
  for (var i = 0u; i < params.count; i++) {
    total += sums[i];
  }
  let finite = isFinite(total);
  let norm = sqrt(total) * params.invScale;
  var coef = params.invScale;
  if (params.maxNorm > 0.0 && finite) {
    coef = params.invScale * min(1.0, params.maxNorm / (norm + 1e-6));
  }
  result[0] = coef;
  result[1] = select(0.0, 1.0, finite);
  result[2] = norm;
}
