// `npm run bench -- train`: the fine-tuning step measured on the golden tiny SD 1.5 at 32 px (seconds per
// step, peak GPU memory, and the training activation factor: training peak over the forward's peak), then
// the 512 px SD 1.5 memory plan from the configs with that factor (goals: LoRA ≤ 6 GB, full ≤ 20 GB).
import * as tf from '@tensorflow/tfjs';
import { engine } from '../src/engine/engine';
import { createNodeEngine } from '../src/engine/node';
import { nodeDirectory } from '../src/io/node-file-source';
import { scanDataset } from '../src/data/dataset-scan';
import { selectDataset } from '../src/data/dataset-selection';
import { parseAutoencoderKLConfig, parseCLIPTextConfig, parseUNetConfig } from '../src/models/configs';
import { defaultTrainConfig } from '../src/pipelines/fine-tune/train-config';
import { makeTrainable } from '../src/pipelines/fine-tune/trainable';
import { Trainer } from '../src/pipelines/fine-tune/trainer';
import { trainingPlan } from '../src/pipelines/fine-tune/training-plan';
import { loadPipelineFromFolder } from '../src/pipelines/load-pipeline';
import { SD15_TEXT_ENCODER_CONFIG, SD15_UNET_CONFIG, SD15_VAE_CONFIG } from '../src/weights/standard-configs';
import { drawSketchFolder } from '../test/fine-tune/sketch-folder';
import type { BenchRow, Benchmark } from './report';

const MB = 2 ** 20;

async function measureTiny(rows: BenchRow[]): Promise<number> {
  const pipeline = await loadPipelineFromFolder(await nodeDirectory('test/fixtures/golden/tiny-sd15/model'), { precision: 'f32' });
  const dataset = selectDataset(await scanDataset(await nodeDirectory(drawSketchFolder(['circle', 'bar'], 2))));
  const e = engine();
  // The forward's own peak at the training batch, for the factor.
  e.purgePool();
  const base = e.memory().liveBytes;
  e.resetPeakMemory();
  const fwd = tf.tidy(() => pipeline.unet.forward(tf.zeros([1, 16, 16, 4]) as tf.Tensor4D, [500], tf.zeros([1, 77, 32]) as tf.Tensor3D));
  await e.sync();
  const forwardPeak = e.memory().peakLiveBytes - base;
  fwd.dispose();

  const trainable = makeTrainable(pipeline.unet);
  const trainer = new Trainer(pipeline, trainable, dataset, { ...defaultTrainConfig('full'), resolution: 32, accum: 1, steps: 4, mixedPrecision: false });
  await trainer.trainStep(); // compiles kernels, fills caches
  const stateBytes = trainable.variables.reduce((n, v) => n + v.size * 4, 0) * 5;
  const before = e.memory().liveBytes;
  e.resetPeakMemory();
  const t0 = performance.now();
  let steps = 0;
  while (!trainer.done) {
    await trainer.trainStep();
    steps++;
  }
  const seconds = (performance.now() - t0) / 1000 / steps;
  const trainingPeak = e.memory().peakLiveBytes - before;
  const factor = trainingPeak / forwardPeak;
  rows.push({
    case: 'tiny SD 1.5, 32 px, full, batch 1',
    s_per_step: seconds,
    peak_mb: e.memory().peakLiveBytes / MB,
    trainable_state_mb: stateBytes / MB,
    forward_peak_mb: forwardPeak / MB,
    training_activation_factor: factor,
  });
  trainer.dispose();
  pipeline.dispose();
  return factor;
}

const train: Benchmark = {
  name: 'train',
  summary: 'fine-tuning step on the tiny model (measured) and the 512 px SD 1.5 memory plan',
  async run() {
    const e = await createNodeEngine();
    try {
      const rows: BenchRow[] = [];
      const factor = await measureTiny(rows);
      const configs = {
        textEncoder: parseCLIPTextConfig(SD15_TEXT_ENCODER_CONFIG),
        unet: parseUNetConfig(SD15_UNET_CONFIG),
        vae: parseAutoencoderKLConfig(SD15_VAE_CONFIG),
      };
      for (const [mode, goal] of [['lora', 6], ['full', 20]] as const) {
        const plan = trainingPlan(configs, { mode, precision: 'f16', size: 512, batch: 1, rank: 4, activationFactor: factor });
        rows.push({
          case: `SD 1.5 plan, 512 px, ${mode}, batch 1`,
          trainable_params_m: plan.trainableParams / 1e6,
          frozen_weights_mb: plan.frozenWeights / MB,
          trainable_state_mb: plan.trainableState / MB,
          activations_mb: plan.activations / MB,
          peak_gb: plan.peak / 2 ** 30,
          goal_gb: goal,
          meets_goal: plan.peak / 2 ** 30 <= goal ? 'yes' : 'no',
        });
      }
      return rows;
    } finally {
      e.dispose();
    }
  },
};

export default train;
