// `npm run bench -- load`: the SD 1.5-size UNet with random weights written as safetensors (streamed, one
// tensor at a time), loaded back through the diffusers-folder reader, one forward at 32×32 latents: time,
// peak GPU memory, largest JS buffer. Then the allocation plan of a 512 px SD 1.5 generation from the configs.
import { open, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { createNodeEngine } from '../src/engine/node';
import { toF16Bits } from '../src/engine/f16';
import { nodeDirectory } from '../src/io/node-file-source';
import { allocationPlan, unetActivationPeak, weightBytes } from '../src/models/allocation-plan';
import { parseAutoencoderKLConfig, parseCLIPTextConfig, parseUNetConfig } from '../src/models/configs';
import { loadWeights } from '../src/models/load';
import { UNet2DConditionModel } from '../src/models/unet-2d-condition';
import { kernelOps } from '../src/ops/kernels';
import { referenceOps } from '../src/ops/reference';
import { openDiffusersComponent } from '../src/weights/diffusers-folder';
import { encodeSafetensorsHeader } from '../src/weights/safetensors-writer';
import { SD15_TEXT_ENCODER_CONFIG, SD15_UNET_CONFIG, SD15_VAE_CONFIG } from '../src/weights/standard-configs';
import type { WeightSource } from '../src/weights/weight-source';
import type { BenchRow, Benchmark } from './report';

const MB = 2 ** 20;
const LATENT = 32;

/** Writes every parameter as F16 with values of the init scale (a 4096-value palette per tensor: fast, not pretty). */
async function writeRandomUnet(dir: string, unet: UNet2DConditionModel): Promise<number> {
  const params = [...unet.namedParameters()];
  const { bytes, order } = encodeSafetensorsHeader(params.map(([name, p]) => ({ name, dtype: 'F16' as const, shape: p.torchShape })));
  const byName = new Map(params);
  const file = await open(join(dir, 'diffusion_pytorch_model.safetensors'), 'w');
  let seed = 12345;
  const next = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  let largest = 0;
  try {
    await file.write(bytes);
    for (const spec of order) {
      const p = byName.get(spec.name)!;
      const n = p.torchShape.reduce((a, b) => a * b, 1);
      const fanIn = p.torchShape.length > 1 ? p.torchShape.slice(1).reduce((a, b) => a * b, 1) : 1;
      const scale = p.torchShape.length > 1 ? 1 / Math.sqrt(fanIn) : 0.02;
      const offset = p.torchShape.length === 1 && /norm/.test(spec.name) && spec.name.endsWith('weight') ? 1 : 0;
      const palette = toF16Bits(Float32Array.from({ length: 4096 }, () => offset + (2 * next() - 1) * scale * Math.sqrt(3)));
      const data = new Uint16Array(n);
      for (let i = 0; i < n; i++) data[i] = palette[(next() * 4096) | 0];
      largest = Math.max(largest, data.byteLength);
      await file.write(new Uint8Array(data.buffer));
    }
  } finally {
    await file.close();
  }
  await writeFile(join(dir, 'config.json'), JSON.stringify(SD15_UNET_CONFIG));
  return largest;
}

/** Records the largest array the loader pulls from the file. */
function watched(source: WeightSource, seen: { largest: number }): WeightSource {
  const note = <T extends ArrayBufferView>(a: T) => ((seen.largest = Math.max(seen.largest, a.byteLength)), a);
  return { ...source, readF32: async (n) => note(await source.readF32(n)), readF16Bits: async (n) => note(await source.readF16Bits(n)) };
}

const bench: Benchmark = {
  name: 'load',
  summary: 'SD 1.5-size UNet: write random safetensors, load, one 32×32 forward; 512 px allocation plan',
  async run() {
    const rows: BenchRow[] = [];
    const engine = await createNodeEngine();
    const dir = await mkdtemp(join(tmpdir(), 'bench-load-'));
    try {
      const config = parseUNetConfig(SD15_UNET_CONFIG);
      let t0 = performance.now();
      const writeLargest = await writeRandomUnet(dir, new UNet2DConditionModel(config, referenceOps));
      rows.push({ step: 'write safetensors (f16)', ms: performance.now() - t0, largest_js_mb: writeLargest / MB });

      engine.resetPeakMemory();
      const seen = { largest: 0 };
      t0 = performance.now();
      const component = await openDiffusersComponent(await nodeDirectory(dir), '');
      const unet = new UNet2DConditionModel(parseUNetConfig(component.config), kernelOps);
      await loadWeights(unet, watched(component.weights, seen), 'unet');
      await engine.sync();
      const resident = engine.memory().liveBytes;
      rows.push({
        step: `load (${engine.precision} weights)`,
        ms: performance.now() - t0,
        gpu_mb: resident / MB,
        planned_mb: weightBytes(unet, engine.precision) / MB,
        largest_js_mb: seen.largest / MB,
      });

      const sample = tf.randomNormal([1, LATENT, LATENT, 4], 0, 1, 'float32', 1) as tf.Tensor4D;
      const context = tf.randomNormal([1, 77, 768], 0, 1, 'float32', 2) as tf.Tensor3D;
      await engine.sync();
      engine.resetPeakMemory();
      const before = engine.memory().liveBytes;
      t0 = performance.now();
      const out = unet.forward(sample, 981, context);
      await engine.read(out);
      rows.push({
        step: `forward ${LATENT}×${LATENT} latents, batch 1`,
        ms: performance.now() - t0,
        gpu_mb: engine.memory().peakLiveBytes / MB,
        activation_mb: (engine.memory().peakLiveBytes - before) / MB,
        planned_activation_mb: unetActivationPeak(config, 1, LATENT, 'materialized') / MB,
      });
      tf.dispose([sample, context, out]);
      unet.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
      engine.dispose();
    }

    const configs = {
      textEncoder: parseCLIPTextConfig(SD15_TEXT_ENCODER_CONFIG),
      unet: parseUNetConfig(SD15_UNET_CONFIG),
      vae: parseAutoencoderKLConfig(SD15_VAE_CONFIG),
    };
    for (const attention of ['fused', 'materialized'] as const) {
      for (const vaeTile of [undefined, 256]) {
        const plan = allocationPlan(configs, { precision: 'f16', size: 512, batch: 2, attention, vaeTile });
        rows.push({
          step: `plan 512 px f16, CFG batch 2, ${attention} attention${vaeTile ? `, VAE tiles ${vaeTile}` : ''}`,
          weights_mb: plan.weights.total / MB,
          unet_act_mb: plan.activations.unet / MB,
          vae_decode_act_mb: plan.activations.vaeDecode / MB,
          peak_mb: plan.peak / MB,
        });
      }
    }
    return rows;
  },
};

export default bench;
