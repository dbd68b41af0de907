// `npm run bench -- kernels`: every kernel family on SD 1.5 shapes against the tfjs reference ops on the
// same device in the same run, plus the device's best measured matmul throughput as the yardstick.
import * as tf from '@tensorflow/tfjs';
import { engine } from '../src/engine/engine';
import { createNodeEngine } from '../src/engine/node';
import { matmul } from '../src/ops/linear';
import { benchAttention } from './kernels/attention';
import { benchAttentionGrad } from './kernels/attention-grad';
import { benchConvMatmul } from './kernels/conv-matmul';
import { benchConvMatmulGrad } from './kernels/conv-matmul-grad';
import { benchNormAct } from './kernels/norm-act';
import { benchNormActGrad } from './kernels/norm-act-grad';
import { timeMs, type Benchmark, type BenchRow } from './report';

/** GFLOP/s of the faster of our matmul and tfjs's on a square f32 product: the device's practical peak. */
async function peakMatmul(): Promise<BenchRow> {
  const n = 1024;
  const a = tf.randomUniform([n, n], -1, 1, 'float32', 1);
  const b = tf.randomUniform([n, n], -1, 1, 'float32', 2);
  const time = async (f: () => tf.Tensor) =>
    timeMs(async () => {
      const c = f();
      await engine().sync();
      c.dispose();
    }, 2);
  const ours = await time(() => matmul(a, b));
  const tfjs = await time(() => tf.matMul(a, b));
  tf.dispose([a, b]);
  const gflop = (2 * n ** 3) / 1e9;
  return { op: 'peak matmul 1024³', ours_ms: ours, tfjs_ms: tfjs, peak_gflops: gflop / (Math.min(ours, tfjs) / 1000) };
}

const kernels: Benchmark = {
  name: 'kernels',
  summary: 'WGSL kernels vs the tfjs reference ops on SD 1.5 shapes (forward and backward), and the device peak',
  async run() {
    const e = await createNodeEngine();
    try {
      const peak = await peakMatmul();
      const rows: BenchRow[] = [peak];
      for (const family of [benchConvMatmul, benchAttention, benchNormAct]) rows.push(...(await family()));
      // Backward: ours vs tfjs autodiff of the reference ops.
      for (const family of [benchConvMatmulGrad, benchAttentionGrad, benchNormActGrad]) rows.push(...(await family()));
      for (const r of rows) {
        const gflops = r['GFLOP/s'] ?? r.ours_gflops;
        if (typeof gflops === 'number') r.of_peak = gflops / (peak.peak_gflops as number);
      }
      return rows;
    } finally {
      e.dispose();
    }
  },
};

export default kernels;
