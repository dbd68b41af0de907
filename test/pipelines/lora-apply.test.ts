// LoRA files merged into the tiny SD 1.5 weights on the f16 path (merged in f32, re-packed to f16): zero
// up-weights change nothing, kohya and PEFT files of one LoRA give the same image, the merged weights are
// W + scale·(alpha/rank)·up·down in our layouts (linear, 1×1 conv, 3×3 conv, text encoder), and removal
// restores the original weights exactly.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Engine } from '../../src/engine/engine';
import { blobFile } from '../../src/io/file-source';
import { nodeDirectory } from '../../src/io/node-file-source';
import type { Parameter } from '../../src/nn/module';
import { asTensor } from '../../src/ops/reference';
import { loadPipelineFromFolder, type StableDiffusionPipeline } from '../../src/pipelines/load-pipeline';
import { LoraApplyError, loraModules, setLoras, type LoraToApply } from '../../src/pipelines/lora-apply';
import { generate, type GenerateOptions } from '../../src/pipelines/text-to-image';
import { readLora, writeLora, type LoraLayer } from '../../src/weights/lora-file';
import { startEngine } from '../engine-helpers';
import { modelDir } from '../models/golden';

let engine: Engine;
let pipeline: StableDiffusionPipeline;
beforeAll(async () => {
  engine = await startEngine({ precision: 'f16' });
  pipeline = await loadPipelineFromFolder(await nodeDirectory(modelDir('tiny-sd15')), { variants: ['fp16'] });
});
afterAll(() => {
  pipeline?.dispose();
  engine?.dispose();
});

const RANK = 4;
const ALPHA = 2;
const TARGETS: [LoraLayer['component'], string, number[], number[]][] = [
  // component, module, down shape, up shape
  ['unet', 'down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q', [RANK, 32], [32, RANK]],
  ['unet', 'down_blocks.0.attentions.0.proj_in', [RANK, 32, 1, 1], [32, RANK, 1, 1]],
  ['unet', 'down_blocks.0.resnets.0.conv1', [RANK, 32, 3, 3], [32, RANK, 1, 1]],
  ['unet', 'up_blocks.1.attentions.2.transformer_blocks.0.attn2.to_v', [RANK, 32], [32, RANK]],
  ['text_encoder', 'text_model.encoder.layers.0.self_attn.q_proj', [RANK, 32], [32, RANK]],
];

function values(n: number, seed: number, scale: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * scale;
  });
}

function layers(upScale: number, seed = 1): LoraLayer[] {
  const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
  return TARGETS.map(([component, module, down, up], i) => ({
    component,
    module,
    down: { shape: down, data: values(size(down), seed + 2 * i, 1) },
    up: { shape: up, data: values(size(up), seed + 2 * i + 1, upScale) },
    alpha: ALPHA,
  }));
}

async function lora(name: string, l: LoraLayer[], format: 'kohya' | 'peft', scale = 1): Promise<LoraToApply> {
  const file = blobFile(writeLora(l, format), `${name}.safetensors`);
  return { name, lora: await readLora(file, loraModules(pipeline)), scale };
}

const run: GenerateOptions = { prompt: 'a cat', style: 'none', scheduler: 'ddim', steps: 2, seed: 5, width: 32, height: 32 };

function param(component: 'unet' | 'text_encoder', name: string): Parameter {
  const model = component === 'unet' ? pipeline.unet : pipeline.textEncoder;
  return new Map(model.namedParameters()).get(name)!;
}

async function weightValues(p: Parameter): Promise<Float32Array> {
  const t = asTensor(p.weight);
  const data = (await engine.read(t)) as Float32Array;
  if (t !== p.weight) t.dispose();
  return data;
}

describe('LoRA merged into the weights', () => {
  test('zero up-weights change nothing; kohya and PEFT files give the same image; removal restores it', async () => {
    expect(engine.precision).toBe('f16');
    const baseline = await generate(pipeline, run);

    await setLoras(pipeline, [await lora('zero', layers(0), 'kohya')]);
    expect(Array.from((await generate(pipeline, run)).pixels)).toEqual(Array.from(baseline.pixels));

    const strong = layers(0.5);
    await setLoras(pipeline, [await lora('style', strong, 'kohya', 0.8)]);
    const kohya = await generate(pipeline, run);
    expect(kohya.parameters.loras).toEqual(['style:0.8']);
    await setLoras(pipeline, [await lora('style', strong, 'peft', 0.8)]);
    const peft = await generate(pipeline, run);
    expect(Array.from(peft.pixels)).toEqual(Array.from(kohya.pixels));
    const changed = kohya.pixels.reduce((n, v, i) => n + (v !== baseline.pixels[i] ? 1 : 0), 0);
    expect(changed).toBeGreaterThan(kohya.pixels.length / 2);

    await setLoras(pipeline, []);
    expect(pipeline.loras).toBeUndefined();
    expect(Array.from((await generate(pipeline, run)).pixels)).toEqual(Array.from(baseline.pixels));
  });

  test('merged weights are W + Σ scale·(alpha/rank)·up·down in our layouts, for several LoRAs at once', async () => {
    const a = layers(0.5, 1);
    const b = layers(0.3, 100).slice(0, 1); // the first module again: the two updates add up
    const originals = await Promise.all(TARGETS.map(([c, m]) => weightValues(param(c, `${m}.weight`))));
    await setLoras(pipeline, [await lora('a', a, 'kohya', 0.7), await lora('b', b, 'peft', -1.5)]);
    for (const [i, [component, module, down, up]] of TARGETS.entries()) {
      const p = param(component, `${module}.weight`);
      const merged = await weightValues(p);
      const [out, inChannels, kh = 1, kw = 1] = [up[0], down[1], down[2], down[3]];
      const updates: [LoraLayer, number][] = [[a[i], 0.7], ...(i === 0 ? [[b[0], -1.5] as [LoraLayer, number]] : [])];
      // Our layouts: linear [in, out]; conv HWIO [kh, kw, in, out].
      const want = new Float32Array(originals[i].length);
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++)
          for (let ci = 0; ci < inChannels; ci++)
            for (let o = 0; o < out; o++) {
              const index = ((y * kw + x) * inChannels + ci) * out + o;
              let v = originals[i][index];
              for (const [l, scale] of updates) {
                for (let r = 0; r < RANK; r++) v += (scale * ALPHA) / RANK * l.up.data[o * RANK + r] * l.down.data[((r * inChannels + ci) * kh + y) * kw + x];
              }
              want[index] = v;
            }
      const maxErr = merged.reduce((m, v, j) => Math.max(m, Math.abs(v - want[j]) / Math.max(1, Math.abs(want[j]))), 0);
      expect(maxErr, module).toBeLessThan(1e-3); // one f16 rounding
      expect(p.weight).toHaveProperty('kind', 'f16');
    }
    await setLoras(pipeline, []);
    for (const [i, [c, m]] of TARGETS.entries()) expect(Array.from(await weightValues(param(c, `${m}.weight`)))).toEqual(Array.from(originals[i]));
  });

  test('a layer that does not fit its weight is refused and nothing stays merged', async () => {
    const before = await weightValues(param('unet', `${TARGETS[0][1]}.weight`));
    const bad = layers(0.5);
    bad[3] = { ...bad[3], up: { shape: [16, RANK], data: values(16 * RANK, 7, 1) } };
    const tensors = tf.memory().numTensors;
    await expect(setLoras(pipeline, [await lora('bad', bad, 'kohya')])).rejects.toThrow(LoraApplyError);
    await expect(setLoras(pipeline, [await lora('bad', bad, 'kohya')])).rejects.toThrow(/^LoRA bad: up_blocks.1.attentions.2.transformer_blocks.0.attn2.to_v: down \[4,32\] and up \[16,4\] do not fit the weight \[32,32\]$/);
    expect(pipeline.loras).toBeUndefined();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(Array.from(await weightValues(param('unet', `${TARGETS[0][1]}.weight`)))).toEqual(Array.from(before));
  });
});
