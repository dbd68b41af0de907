// `npm run bench -- generate`: per-step time and peak GPU memory of text-to-image on the tiny SD 1.5 model,
// and of the SD 1.5-size UNet at 32×32 latents with CFG (batch 2, synthetic weights); the UNet's effective
// GFLOP/s (FLOPs counted from the op shapes it calls) as a fraction of the best matmul rate measured on the
// same device (goal ≥ 60%).
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { createNodeEngine } from '../src/engine/node';
import type { Engine } from '../src/engine/engine';
import { nodeDirectory } from '../src/io/node-file-source';
import { parseUNetConfig } from '../src/models/configs';
import { UNet2DConditionModel } from '../src/models/unet-2d-condition';
import { kernelOps } from '../src/ops/kernels';
import type { Ops, Weight } from '../src/ops/types';
import { loadPipelineFromFolder } from '../src/pipelines/load-pipeline';
import { generate } from '../src/pipelines/text-to-image';
import { SD15_UNET_CONFIG } from '../src/weights/standard-configs';
import { timeMs, type Benchmark, type BenchRow } from './report';

// The op implementation under test: the WGSL kernels.
const OPS: Ops = kernelOps;
const TINY_SD15 = fileURLToPath(new URL('../test/fixtures/golden/tiny-sd15/model', import.meta.url));
const MATMUL_SIDE = 2048;

const mib = (bytes: number) => bytes / 2 ** 20;

const bench: Benchmark = {
  name: 'generate',
  summary: 'text-to-image step time and peak memory (tiny SD 1.5; SD 1.5 UNet at 32×32 latents, CFG); UNet GFLOP/s vs best matmul (goal ≥ 60%)',
  async run() {
    const engine = await createNodeEngine();
    try {
      const rows = await tinyPipeline(engine);
      const matmul = await bestMatmulGflops(engine);
      rows.push({ case: `matmul ${MATMUL_SIDE}³ (${engine.precision} weights)`, gflops: matmul });
      const unet = await sd15Unet(engine);
      rows.push({ ...unet, fractionOfMatmul: unet.gflops / matmul });
      return rows;
    } finally {
      engine.dispose();
    }
  },
};

async function tinyPipeline(engine: Engine): Promise<BenchRow[]> {
  const pipeline = await loadPipelineFromFolder(await nodeDirectory(TINY_SD15), { ops: OPS });
  const rows: BenchRow[] = [];
  try {
    for (const cfg of ['batch', 'sequential'] as const) {
      const run = () => generate(pipeline, { prompt: 'a cat', scheduler: 'ddim', steps: 5, seed: 1, width: 32, height: 32, cfg });
      await run(); // compiles every shader variant
      await engine.sync();
      const base = engine.memory().liveBytes;
      engine.resetPeakMemory();
      const result = await run();
      rows.push({
        case: `tiny SD 1.5, 32 px, CFG ${cfg}`,
        msPerStep: result.timings.perStepMs,
        textEncoderMs: result.timings.textEncoderMs,
        decodeMs: result.timings.decodeMs,
        peakMiB: mib(engine.memory().peakLiveBytes - base),
        weightsMiB: mib(base),
      });
    }
  } finally {
    pipeline.dispose();
  }
  return rows;
}

async function bestMatmulGflops(engine: Engine): Promise<number> {
  const n = MATMUL_SIDE;
  const x = tf.randomNormal([n, n]);
  const w = syntheticWeight(engine, [n, n]);
  const ms = await timeMs(async () => {
    const y = OPS.linear(x, w);
    await engine.sync();
    y.dispose();
  });
  tf.dispose([x, w instanceof tf.Tensor ? w : w.packed]);
  return (2 * n ** 3) / (ms * 1e6);
}

/** One CFG UNet call of SD 1.5 on 32×32 latents (a 256 px image), with FLOPs counted per op. */
async function sd15Unet(engine: Engine): Promise<BenchRow & { gflops: number }> {
  let flops = 0;
  const counting: Ops = {
    ...OPS,
    conv2d(x, w, bias, opts) {
      const y = OPS.conv2d(x, w, bias, opts);
      const [kh, kw, cin] = shapeOf(w);
      flops += 2 * y.size * kh * kw * cin;
      return y;
    },
    linear(x, w, bias, activation) {
      const [inDim, outDim] = shapeOf(w);
      flops += 2 * (x.size / inDim) * inDim * outDim;
      return OPS.linear(x, w, bias, activation);
    },
    attention(q, k, v, opts) {
      flops += 4 * q.shape[0] * q.shape[1] * k.shape[1] * q.shape[2];
      return OPS.attention(q, k, v, opts);
    },
  };
  const unet = new UNet2DConditionModel(parseUNetConfig(SD15_UNET_CONFIG), counting);
  for (const [, p] of unet.namedParameters()) p.value = syntheticWeight(engine, ourShape(p.torchShape, p.layout));
  const sample = tf.randomNormal([2, 32, 32, 4]) as tf.Tensor4D;
  const context = tf.randomNormal([2, 77, 768]) as tf.Tensor3D;
  try {
    const step = async () => {
      const out = unet.forward(sample, 500, context);
      await engine.sync();
      out.dispose();
    };
    await step();
    const perCall = flops; // one step: the whole CFG batch
    await engine.sync();
    const base = engine.memory().liveBytes;
    engine.resetPeakMemory();
    const ms = await timeMs(step, 1, 0);
    return {
      case: 'SD 1.5 UNet, 32×32 latents, CFG batch 2',
      msPerStep: ms,
      peakMiB: mib(engine.memory().peakLiveBytes - base),
      weightsMiB: mib(base),
      gflopPerStep: perCall / 1e9,
      gflops: perCall / (ms * 1e6),
    };
  } finally {
    tf.dispose([sample, context]);
    unet.dispose();
  }
}

function shapeOf(w: Weight): number[] {
  return w instanceof tf.Tensor ? w.shape : w.shape;
}

function ourShape(torch: readonly number[], layout: 'as-is' | 'linear' | 'conv'): number[] {
  if (layout === 'linear') return [torch[1], torch[0]];
  if (layout === 'conv') return [torch[2], torch[3], torch[1], torch[0]];
  return [...torch];
}

/** Small random f32 weights, or on the f16 path a constant half (0.0078) packed two per word: timing only. */
function syntheticWeight(engine: Engine, shape: number[]): Weight {
  if (!engine.f16) return tf.randomNormal(shape, 0, 0.02);
  const half = 0x2000;
  const size = shape.reduce((a, b) => a * b, 1);
  return { kind: 'f16', packed: tf.fill([Math.ceil(size / 2)], (half << 16) | half, 'int32'), shape };
}

export default bench;
