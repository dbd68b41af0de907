// The fine-tuning loop on the golden tiny SD 1.5 and a drawn sketch folder (32 px): it learns, it leaks
// nothing per step, and a run saved and resumed continues bit for bit like the uninterrupted one.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanDataset } from '../../src/data/dataset-scan';
import { selectDataset, type Dataset } from '../../src/data/dataset-selection';
import type { Engine } from '../../src/engine/engine';
import { nodeDirectory } from '../../src/io/node-file-source';
import { loadAutoencoderKL, loadCLIPTextModel, loadUNet2DConditionModel } from '../../src/models/load';
import { defaultTrainConfig, type TrainConfig } from '../../src/pipelines/fine-tune/train-config';
import { diffusionLoss } from '../../src/pipelines/fine-tune/diffusion-loss';
import { makeTrainable } from '../../src/pipelines/fine-tune/trainable';
import { Trainer, type FineTuneModels } from '../../src/pipelines/fine-tune/trainer';
import { createScheduler } from '../../src/schedulers';
import { ClipTokenizer } from '../../src/tokenizer/clip-tokenizer';
import { Philox } from '../../src/random/philox';
import { loadCheckpointWeights, loadRunState, saveRunCheckpoint } from '../../src/pipelines/fine-tune/run-checkpoint';
import { FileCheckpointStore } from '../../src/storage/file-checkpoint-store';
import { startEngine } from '../engine-helpers';
import { goldenFolder } from '../models/golden';
import { drawSketchFolder } from './sketch-folder';

let engine: Engine;
let dataset: Dataset;
beforeAll(async () => {
  engine = await startEngine({ precision: 'f32' });
  dataset = selectDataset(await scanDataset(await nodeDirectory(drawSketchFolder(['circle', 'bar'], 2))));
});
afterAll(() => engine?.dispose());

async function loadModels(): Promise<FineTuneModels> {
  const folder = await goldenFolder('tiny-sd15');
  const opts = { precision: 'f32' as const };
  return {
    tokenizer: await ClipTokenizer.fromFolder(folder.source),
    textEncoder: await loadCLIPTextModel(await folder.component('text_encoder'), 'text_encoder', opts),
    vae: await loadAutoencoderKL(await folder.component('vae'), 'vae', opts),
    unet: await loadUNet2DConditionModel(await folder.component('unet'), 'unet', opts),
    schedulerConfig: await folder.config('scheduler'),
  };
}

function disposeModels(m: FineTuneModels): void {
  m.textEncoder.dispose();
  m.vae.dispose();
  m.unet.dispose();
}

const config = (over: Partial<TrainConfig>): TrainConfig => ({ ...defaultTrainConfig('full'), resolution: 32, accum: 1, mixedPrecision: false, ...over });

describe('fine-tuning loop', () => {
  it('lowers a fixed evaluation loss on a handful of sketches', async () => {
    const models = await loadModels();
    const trainable = makeTrainable(models.unet);
    const trainer = new Trainer(models, trainable, dataset, config({ steps: 6, lr: 3e-3 }));
    const alphasCumprod = createScheduler('ddpm', models.schedulerConfig, 1).alphasCumprod;
    const rng = new Philox(7);
    const evalBatch = {
      latents: tf.tensor4d(rng.normal(2 * 16 * 16 * 4), [2, 16, 16, 4]),
      noise: tf.tensor4d(rng.normal(2 * 16 * 16 * 4), [2, 16, 16, 4]),
      timesteps: [300, 700],
      context: tf.tidy(() => tf.concat([models.textEncoder.forward(tf.tensor2d(models.tokenizer.encode('sketch of circle').ids, [1, 77], 'int32')).lastHiddenState, models.textEncoder.forward(tf.tensor2d(models.tokenizer.encode('sketch of bar').ids, [1, 77], 'int32')).lastHiddenState])) as tf.Tensor3D,
    };
    // The evaluation uses the encoder latents of the training images: a model that learns them denoises them better.
    evalBatch.latents.dispose();
    const pixels = tf.tensor4d(Float32Array.from([...(await firstPixels(0)), ...(await firstPixels(2))]), [2, 32, 32, 3]);
    evalBatch.latents = tf.tidy(() => tf.mul(models.vae.encode(pixels).mean, models.vae.config.scaling_factor) as tf.Tensor4D);
    const evalLoss = async () => {
      const l = diffusionLoss(models.unet, evalBatch, { prediction: 'epsilon', alphasCumprod });
      const v = (await engine.read(l))[0];
      l.dispose();
      return v;
    };
    const before = await evalLoss();
    const reports = [];
    while (!trainer.done) reports.push(await trainer.trainStep());
    const after = await evalLoss();
    console.log(`eval loss ${before.toFixed(4)} -> ${after.toFixed(4)} (ratio ${(after / before).toFixed(3)}); train losses ${reports.map((r) => r.loss.toFixed(3)).join(' ')}`);
    expect(reports.every((r) => r.applied && Number.isFinite(r.loss))).toBe(true);
    expect(after / before).toBeLessThan(0.8);
    tf.dispose([pixels, evalBatch.latents, evalBatch.noise, evalBatch.context]);
    trainer.dispose();
    disposeModels(models);
  }, 300_000);

  it('resumes exactly: save after 1 step, continue 1 = 2 uninterrupted steps, with no tensor leaks', async () => {
    const c = config({ steps: 2, lr: 1e-3, accum: 2 });
    const a = await loadModels();
    const ta = makeTrainable(a.unet);
    const straight = new Trainer(a, ta, dataset, c);
    const straightLosses: number[] = [];
    const tensorsAfterStep: number[] = [];
    for (let i = 0; i < 2; i++) {
      straightLosses.push((await straight.trainStep()).loss);
      tensorsAfterStep.push(tf.memory().numTensors - straight.cachedCaptions);
    }
    expect(tensorsAfterStep[1]).toBe(tensorsAfterStep[0]);
    const final = await straight.saveState();
    straight.dispose();
    disposeModels(a);

    const b = await loadModels();
    const firstTrainable = makeTrainable(b.unet);
    const first = new Trainer(b, firstTrainable, dataset, c);
    expect((await first.trainStep()).loss).toBe(straightLosses[0]);
    // Through a real checkpoint folder: weights (f16, PyTorch layout) and the run state.
    const store = await FileCheckpointStore.open(mkdtempSync(join(tmpdir(), 'run-')));
    const manifest = await saveRunCheckpoint(store, first, firstTrainable, { runId: 'r1', baseModel: 'tiny-sd15', captionTemplate: 'sketch of {name}', mode: 'full' }, 1);
    expect(manifest.step).toBe(1);
    const weights = await loadCheckpointWeights(store, manifest.id);
    const convIn = weights.get('conv_in.weight')!;
    expect(convIn.shape).toEqual([32, 4, 3, 3]);
    const { state, tensors } = await loadRunState(store, manifest.id);
    first.dispose();
    disposeModels(b);

    const r = await loadModels();
    const resumed = new Trainer(r, makeTrainable(r.unet), dataset, c, { state, tensors });
    expect(resumed.step).toBe(1);
    expect((await resumed.trainStep()).loss).toBe(straightLosses[1]);
    const end = await resumed.saveState();
    end.tensors.weights.forEach((w, i) => expect(Array.from(w)).toEqual(Array.from(final.tensors.weights[i])));
    resumed.dispose();
    disposeModels(r);
  }, 300_000);
});

async function firstPixels(index: number): Promise<Float32Array> {
  const { loadTrainingImage } = await import('../../src/data/dataset-loader');
  return loadTrainingImage(dataset.entries[index], 32);
}
