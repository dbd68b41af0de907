// What the page's training run builds on, on the golden tiny SD 1.5 (tfjs reference ops, as the worker
// trains): the memory plan counts exactly the LoRA parameters attachLora makes; validation images made
// between steps with the adapters attached show them and leave the run bit for bit as it would have been;
// detaching the adapters gives the base model's images back.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanDataset } from '../../src/data/dataset-scan';
import { selectDataset, type Dataset } from '../../src/data/dataset-selection';
import type { Engine } from '../../src/engine/engine';
import { nodeDirectory } from '../../src/io/node-file-source';
import { attachLora, detachLora } from '../../src/nn/lora';
import { referenceOps } from '../../src/ops/reference';
import { defaultTrainConfig, type TrainConfig } from '../../src/pipelines/fine-tune/train-config';
import { Trainer } from '../../src/pipelines/fine-tune/trainer';
import { loraParamCount, trainingPlan } from '../../src/pipelines/fine-tune/training-plan';
import { validationImages, VALIDATION_SEED } from '../../src/pipelines/fine-tune/validation';
import { loadPipelineFromFolder, type StableDiffusionPipeline } from '../../src/pipelines/load-pipeline';
import { startEngine } from '../engine-helpers';
import { modelDir } from '../models/golden';
import { drawSketchFolder } from './sketch-folder';

let engine: Engine;
let pipeline: StableDiffusionPipeline;
let dataset: Dataset;
beforeAll(async () => {
  engine = await startEngine({ precision: 'f32' });
  pipeline = await loadPipelineFromFolder(await nodeDirectory(modelDir('tiny-sd15')), { ops: referenceOps });
  dataset = selectDataset(await scanDataset(await nodeDirectory(drawSketchFolder(['circle', 'bar'], 2))));
});
afterAll(() => {
  pipeline?.dispose();
  engine?.dispose();
});

const config: TrainConfig = { ...defaultTrainConfig('lora'), resolution: 32, accum: 1, steps: 2, lr: 5e-2, mixedPrecision: false };
const validate = () => validationImages(pipeline, ['sketch of a circle'], { size: 32, steps: 2, seed: VALIDATION_SEED });

describe('LoRA runs in the page', () => {
  it('plans as many adapter parameters as attachLora makes, for each choice of targets', () => {
    const configs = { textEncoder: pipeline.textEncoder.config, unet: pipeline.unet.config, vae: pipeline.vae.config };
    const choices = [
      [1, config.loraTargets],
      [4, config.loraTargets],
      [8, config.loraTargets],
      [4, { attention: false, feedForward: true, convs: false }],
      [2, { attention: true, feedForward: true, convs: true }],
    ] as const;
    const counts = new Set<number>();
    for (const [rank, targets] of choices) {
      const lora = attachLora(pipeline.unet, { rank, targets });
      const made = lora.variables.reduce((n, v) => n + v.size, 0);
      detachLora(lora.adapters);
      counts.add(made);
      expect(loraParamCount(pipeline.unet.config, rank, targets)).toBe(made);
      const plan = trainingPlan(configs, { mode: 'lora', precision: 'f32', size: 32, batch: 1, rank, loraTargets: targets, activationFactor: 4 });
      expect(plan.trainableParams).toBe(made);
      expect(plan.trainableState).toBe(made * 20);
    }
    expect(counts.size).toBe(choices.length);
  });

  it('validates between steps without changing the run, and detaching gives the base model back', async () => {
    const run = async (withValidation: boolean) => {
      const lora = attachLora(pipeline.unet, { rank: config.rank, alpha: config.alpha, targets: config.loraTargets, seed: config.seed });
      const trainer = new Trainer(pipeline, lora, dataset, config);
      const losses: number[] = [];
      let image: Uint8Array | undefined;
      while (!trainer.done) {
        losses.push((await trainer.trainStep()).loss);
        if (withValidation && trainer.step === 1) [{ png: image }] = await validate();
      }
      const end = await trainer.saveState();
      trainer.dispose();
      detachLora(lora.adapters);
      return { losses, image, end };
    };
    const [{ png: base }] = await validate();
    const tensorsBefore = tf.memory().numTensors;
    const plain = await run(false);
    const validated = await run(true);
    expect(tf.memory().numTensors).toBe(tensorsBefore);

    expect(validated.losses).toEqual(plain.losses);
    expect(validated.end.state).toEqual(plain.end.state);
    validated.end.tensors.weights.forEach((w, i) => expect(Array.from(w)).toEqual(Array.from(plain.end.tensors.weights[i])));
    // The trained adapters apply in the validation forward.
    expect(Buffer.from(validated.image!).equals(Buffer.from(base))).toBe(false);
    const [{ png: after }] = await validate();
    expect(Buffer.from(after).equals(Buffer.from(base))).toBe(true);
  }, 300_000);
});
