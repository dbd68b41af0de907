// LoRA adapters on the golden tiny SD 1.5 UNet: a fresh adapter changes nothing, merging matches the unmerged
// forward and unmerging restores the weights bit for bit, only the adapters get gradients, LoRA files round
// trip through both formats, and the existing Trainer lowers a fixed loss when it trains only the adapters.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanDataset } from '../../src/data/dataset-scan';
import { selectDataset } from '../../src/data/dataset-selection';
import { packF16, unpackF16 } from '../../src/engine/f16-tensor';
import type { Engine } from '../../src/engine/engine';
import { blobFile } from '../../src/io/file-source';
import { nodeDirectory } from '../../src/io/node-file-source';
import { loadAutoencoderKL, loadCLIPTextModel, loadUNet2DConditionModel } from '../../src/models/load';
import type { UNet2DConditionModel } from '../../src/models/unet-2d-condition';
import { Linear } from '../../src/nn/linear';
import { attachLora, detachLora, loadLoraLayers, loraAdapters, loraLayers, mergeLora, unmergeLora, type LoraAdapter } from '../../src/nn/lora';
import { Module } from '../../src/nn/module';
import { referenceOps } from '../../src/ops/reference';
import { diffusionLoss } from '../../src/pipelines/fine-tune/diffusion-loss';
import { defaultTrainConfig } from '../../src/pipelines/fine-tune/train-config';
import { Trainer } from '../../src/pipelines/fine-tune/trainer';
import { Philox } from '../../src/random/philox';
import { createScheduler } from '../../src/schedulers';
import { ClipTokenizer } from '../../src/tokenizer/clip-tokenizer';
import { modulePaths, readLora, writeLora } from '../../src/weights/lora-file';
import { startEngine } from '../engine-helpers';
import { drawSketchFolder } from '../fine-tune/sketch-folder';
import { goldenFolder, relativeError } from '../models/golden';

let engine: Engine;
beforeAll(async () => {
  engine = await startEngine({ precision: 'f32' });
});
afterAll(() => engine?.dispose());

const ALL = { attention: true, feedForward: true, convs: true };

async function loadUnet(): Promise<UNet2DConditionModel> {
  return loadUNet2DConditionModel(await (await goldenFolder('tiny-sd15')).component('unet'), 'unet', { precision: 'f32', ops: referenceOps });
}

interface Inputs {
  sample: tf.Tensor4D;
  context: tf.Tensor3D;
  timesteps: number[];
}

function inputs(seed: number): Inputs {
  const rng = new Philox(seed);
  return {
    sample: tf.tensor4d(rng.normal(2 * 8 * 8 * 4), [2, 8, 8, 4]),
    context: tf.tensor3d(rng.normal(2 * 6 * 32), [2, 6, 32]),
    timesteps: [300, 700],
  };
}

async function predict(unet: UNet2DConditionModel, x: Inputs): Promise<Float32Array> {
  const out = unet.forward(x.sample, x.timesteps, x.context);
  const data = Float32Array.from(await engine.read(out));
  out.dispose();
  return data;
}

async function snapshot(unet: UNet2DConditionModel): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [name, p] of unet.namedParameters()) out.set(name, Float32Array.from(await engine.read(p.weight as tf.Tensor)));
  return out;
}

/** Random up weights so the adapters change the output (a fresh adapter's are zero). */
function randomizeUp(adapters: readonly LoraAdapter[], seed: number, scale = 0.05): void {
  const rng = new Philox(seed);
  for (const a of adapters) {
    const v = tf.tensor(rng.normal(a.up.size).map((x) => x * scale), a.up.shape);
    (a.up as tf.Variable).assign(v);
    v.dispose();
  }
}

describe('LoRA adapters', () => {
  it('start as the base model exactly, without touching its parameters', async () => {
    const unet = await loadUnet();
    const x = inputs(1);
    const base = await predict(unet, x);
    const names = [...unet.namedParameters()].map(([n]) => n);
    const lora = attachLora(unet, { rank: 4, alpha: 8, targets: ALL, seed: 5 });
    // The base model's diffusers names are unchanged and its weights are frozen tensors, never Variables.
    expect([...unet.namedParameters()].map(([n]) => n)).toEqual(names);
    for (const [, p] of unet.namedParameters()) expect(p.value instanceof tf.Variable).toBe(false);
    for (const name of [
      'down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.lora_A.weight',
      'mid_block.attentions.0.transformer_blocks.0.attn2.to_out.0.lora_B.weight',
      'up_blocks.1.attentions.2.transformer_blocks.0.ff.net.0.proj.lora_A.weight',
      'down_blocks.0.attentions.1.transformer_blocks.0.ff.net.2.lora_B.weight',
      'down_blocks.1.resnets.0.conv_shortcut.lora_A.weight',
      'up_blocks.0.resnets.2.conv2.lora_A.weight',
      'up_blocks.1.attentions.0.proj_in.lora_B.weight',
    ]) {
      expect(lora.names).toContain(name);
    }
    expect(lora.names.some((n) => n.includes('time_emb_proj') || n.startsWith('conv_in'))).toBe(false);
    expect(lora.variables.length).toBe(lora.names.length);
    expect(lora.layouts.length).toBe(lora.names.length);
    // lora_A ~ U(±1/√fan_in) as PEFT draws it; lora_B zero.
    const conv1 = lora.adapters.find((a) => a.module === 'down_blocks.0.resnets.0.conv1')!;
    expect(conv1.down.shape).toEqual([3, 3, 32, 4]);
    expect(conv1.up.shape).toEqual([1, 1, 4, 32]);
    expect(conv1.layouts.down.torchShape).toEqual([4, 32, 3, 3]);
    const a = await engine.read(conv1.down);
    const bound = 1 / Math.sqrt(32 * 9);
    expect(Math.max(...a.map(Math.abs))).toBeLessThan(bound);
    expect(Math.max(...a.map(Math.abs))).toBeGreaterThan(0.9 * bound);
    expect(conv1.scale).toBe(2);
    // Seeded: the same seed draws the same lora_A on another model.
    const again = await loadUnet();
    const other = attachLora(again, { rank: 4, alpha: 8, targets: ALL, seed: 5 });
    expect(Array.from(await engine.read(other.variables[0]))).toEqual(Array.from(await engine.read(lora.variables[0])));
    again.dispose();

    const withLora = await predict(unet, x);
    expect(Array.from(withLora)).toEqual(Array.from(base));
    tf.dispose([x.sample, x.context]);
    unet.dispose();
  }, 120_000);

  it('merge into the weights like the unmerged forward, and unmerge restores them bit for bit', async () => {
    const unet = await loadUnet();
    const x = inputs(2);
    const base = await predict(unet, x);
    const lora = attachLora(unet, { rank: 4, alpha: 4, targets: ALL, seed: 3 });
    randomizeUp(lora.adapters, 4);
    const unmerged = await predict(unet, x);
    expect(relativeError(unmerged, base)).toBeGreaterThan(1e-2);
    const before = await snapshot(unet);

    await mergeLora(lora.adapters);
    expect(lora.adapters.every((a) => a.merged)).toBe(true);
    const merged = await predict(unet, x);
    const err = relativeError(merged, unmerged);
    console.log(`merged vs unmerged: relative error ${err.toExponential(2)}`);
    expect(err).toBeLessThanOrEqual(1e-5);
    const mergedWeights = await snapshot(unet);
    expect(relativeError(mergedWeights.get('down_blocks.0.resnets.0.conv1.weight')!, before.get('down_blocks.0.resnets.0.conv1.weight')!)).toBeGreaterThan(1e-3);

    unmergeLora(lora.adapters);
    expect(lora.adapters.some((a) => a.merged)).toBe(false);
    const restored = await snapshot(unet);
    for (const [name, data] of before) expect(Array.from(restored.get(name)!), name).toEqual(Array.from(data));
    expect(Array.from(await predict(unet, x))).toEqual(Array.from(unmerged));

    // Detaching gives back the base model exactly and frees the adapters.
    const tensors = tf.memory().numTensors;
    detachLora(lora.adapters);
    expect(loraAdapters(unet)).toEqual([]);
    expect(tf.memory().numTensors).toBe(tensors - lora.variables.length);
    expect(Array.from(await predict(unet, x))).toEqual(Array.from(base));
    tf.dispose([x.sample, x.context]);
    unet.dispose();
  }, 120_000);

  it('merge into f16 weights re-packed, unmerge puts the same packed weight back', async () => {
    class Holder extends Module {
      readonly proj = this.module('proj', new Linear(referenceOps, 8, 16));
    }
    const m = new Holder();
    const rng = new Philox(9);
    const w = packF16(rng.normal(8 * 16), [8, 16]);
    m.proj.weight.value = w;
    m.proj.bias!.value = tf.zeros([16]);
    const down = { shape: [2, 8], data: rng.normal(16) };
    const up = { shape: [16, 2], data: rng.normal(32) };
    const [adapter] = loadLoraLayers(m, [{ component: 'unet', module: 'proj', down, up, alpha: 1 }], 0.5);
    expect(adapter.scale).toBe(0.25);
    const x = tf.tensor2d(rng.normal(3 * 8), [3, 8]);
    const unmerged = Float32Array.from(await engine.read(m.proj.forward(x)));
    await mergeLora([adapter]);
    const packed = m.proj.weight.value!;
    expect(packed instanceof tf.Tensor).toBe(false);
    // W + 0.25 · downᵀ upᵀ, rounded to f16.
    const wf = await engine.read(unpackF16(w));
    const want = new Float32Array(8 * 16);
    for (let i = 0; i < 8; i++)
      for (let o = 0; o < 16; o++) {
        let s = 0;
        for (let r = 0; r < 2; r++) s += down.data[r * 8 + i] * up.data[o * 2 + r];
        want[i * 16 + o] = wf[i * 16 + o] + 0.25 * s;
      }
    const got = await engine.read(unpackF16(packed as Exclude<typeof packed, tf.Tensor>));
    expect(relativeError(got, want)).toBeLessThan(1e-3);
    expect(relativeError(await engine.read(m.proj.forward(x)), unmerged)).toBeLessThan(2e-3);
    const bits = Array.from(await engine.read(w.packed));
    unmergeLora([adapter]);
    expect(m.proj.weight.value).toBe(w);
    expect(Array.from(await engine.read(w.packed))).toEqual(bits);
    expect(Array.from(await engine.read(m.proj.forward(x)))).toEqual(Array.from(unmerged));
    x.dispose();
    m.dispose();
  });

  it('are the only variables that get gradients', async () => {
    const unet = await loadUnet();
    const x = inputs(3);
    const lora = attachLora(unet, { rank: 2, seed: 1 });
    randomizeUp(lora.adapters, 2);
    for (const [, p] of unet.namedParameters()) expect(p.value instanceof tf.Variable).toBe(false);
    const tensors = tf.memory().numTensors;
    const target = tf.randomNormal([2, 8, 8, 4], 0, 1, 'float32', 11);
    // No variable list: tfjs differentiates every trainable variable the loss depends on.
    const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(unet.forward(x.sample, x.timesteps, x.context), target))));
    expect(Object.keys(grads).sort()).toEqual(lora.variables.map((v) => v.name).sort());
    // Attention only by default: 4 projections × 2 attentions × 6 transformer blocks.
    expect(lora.adapters.length).toBe(48);
    for (const v of lora.variables) {
      const g = await engine.read(grads[v.name]);
      expect(g.every(Number.isFinite)).toBe(true);
      expect(g.some((e) => e !== 0)).toBe(true);
    }
    tf.dispose([value, target, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(tensors);
    tf.dispose([x.sample, x.context]);
    unet.dispose();
  }, 120_000);

  it('round trip through PEFT and kohya files to the same UNet output', async () => {
    const unet = await loadUnet();
    const x = inputs(4);
    const lora = attachLora(unet, { rank: 4, alpha: 8, targets: ALL, seed: 2 });
    randomizeUp(lora.adapters, 6);
    const want = await predict(unet, x);
    const layers = await loraLayers(lora.adapters);
    expect(layers.find((l) => l.module === 'up_blocks.1.attentions.0.proj_in')!.down.shape).toEqual([4, 32, 1, 1]);
    expect(layers.find((l) => l.module === 'down_blocks.0.resnets.0.conv1')!.up.shape).toEqual([32, 4, 1, 1]);
    expect(layers.find((l) => l.module.endsWith('attn1.to_q'))!.up.shape).toEqual([32, 4]);
    detachLora(lora.adapters);
    const modules = modulePaths([...unet.namedParameters()].map(([n]) => n));
    for (const format of ['peft', 'kohya'] as const) {
      const file = await readLora(blobFile(writeLora(layers, format), `lora-${format}.safetensors`), { unet: modules });
      expect(file.format).toBe(format);
      expect(file.layers.length).toBe(layers.length);
      expect(file.layers.every((l) => l.alpha === 8)).toBe(true);
      const loaded = loadLoraLayers(unet, file.layers, 1);
      expect(loaded.some((a) => a.down instanceof tf.Variable || a.up instanceof tf.Variable)).toBe(false);
      const got = await predict(unet, x);
      expect(relativeError(got, want), format).toBe(0);
      detachLora(loaded);
    }
    // Two adapters at once add up: the same file loaded twice at half strength each.
    const file = await readLora(blobFile(writeLora(layers, 'peft'), 'twice.safetensors'), { unet: modules });
    const halves = [...loadLoraLayers(unet, file.layers, 0.5), ...loadLoraLayers(unet, file.layers, 0.5)];
    expect(relativeError(await predict(unet, x), want)).toBeLessThan(1e-5);
    detachLora(halves);
    tf.dispose([x.sample, x.context]);
    unet.dispose();
  }, 120_000);

  it('train with the existing Trainer: a fixed loss goes down and the base weights stay as they were', async () => {
    const folder = await goldenFolder('tiny-sd15');
    const opts = { precision: 'f32' as const, ops: referenceOps };
    const models = {
      tokenizer: await ClipTokenizer.fromFolder(folder.source),
      textEncoder: await loadCLIPTextModel(await folder.component('text_encoder'), 'text_encoder', opts),
      vae: await loadAutoencoderKL(await folder.component('vae'), 'vae', opts),
      unet: await loadUnet(),
      schedulerConfig: await folder.config('scheduler'),
    };
    const dataset = selectDataset(await scanDataset(await nodeDirectory(drawSketchFolder(['circle', 'bar'], 2))));
    const lora = attachLora(models.unet, { rank: 4, alpha: 4, targets: { attention: true, feedForward: true }, seed: 42 });
    const config = { ...defaultTrainConfig('lora'), resolution: 32, accum: 1, mixedPrecision: false, steps: 4, lr: 2e-2 };
    const trainer = new Trainer(models, lora, dataset, config);
    const before = await snapshot(models.unet);

    const alphasCumprod = createScheduler('ddpm', models.schedulerConfig, 1).alphasCumprod;
    const rng = new Philox(7);
    const { loadTrainingImage } = await import('../../src/data/dataset-loader');
    const pixels = tf.tensor4d(Float32Array.from([...(await loadTrainingImage(dataset.entries[0], 32)), ...(await loadTrainingImage(dataset.entries[2], 32))]), [2, 32, 32, 3]);
    const encode = (text: string) => models.textEncoder.forward(tf.tensor2d(models.tokenizer.encode(text).ids, [1, 77], 'int32')).lastHiddenState;
    const evalBatch = {
      latents: tf.tidy(() => tf.mul(models.vae.encode(pixels).mean, models.vae.config.scaling_factor) as tf.Tensor4D),
      noise: tf.tensor4d(rng.normal(2 * 16 * 16 * 4), [2, 16, 16, 4]),
      timesteps: [300, 700],
      context: tf.tidy(() => tf.concat([encode(dataset.entries[0].caption), encode(dataset.entries[2].caption)]) as tf.Tensor3D),
    };
    const evalLoss = async () => {
      const l = diffusionLoss(models.unet, evalBatch, { prediction: 'epsilon', alphasCumprod });
      const v = (await engine.read(l))[0];
      l.dispose();
      return v;
    };
    const start = await evalLoss();
    const losses: number[] = [];
    while (!trainer.done) losses.push((await trainer.trainStep()).loss);
    const end = await evalLoss();
    console.log(`LoRA eval loss ${start.toFixed(4)} -> ${end.toFixed(4)} (ratio ${(end / start).toFixed(3)}); train losses ${losses.map((l) => l.toFixed(3)).join(' ')}`);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(end / start).toBeLessThan(0.9);
    const after = await snapshot(models.unet);
    for (const [name, data] of before) expect(Array.from(after.get(name)!), name).toEqual(Array.from(data));
    tf.dispose([pixels, evalBatch.latents, evalBatch.noise, evalBatch.context]);
    trainer.dispose();
    models.textEncoder.dispose();
    models.vae.dispose();
    models.unet.dispose();
  }, 180_000);
});
