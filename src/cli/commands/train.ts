// `train`: fine-tune the UNet on a dataset folder; checkpoints (with the diffusers unet/ export) and
// log.csv in --out; --resume continues the newest checkpoint exactly.
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Flags, parseArgs, UsageError } from '../args';
import type { Command } from '../command';
import { loadPipelineArg, unetConfigArg } from '../model-args';
import { progress } from '../progress';
import { exportImagefolder } from '../../data/dataset-export';
import { scanDataset } from '../../data/dataset-scan';
import { selectDataset } from '../../data/dataset-selection';
import { parseSynsetTables } from '../../data/synset-names';
import { createNodeEngine } from '../../engine/node';
import { nodeDirectory } from '../../io/node-file-source';
import { attachLora } from '../../nn/lora';
import { exportDiffusersUnet, exportLora } from '../../pipelines/fine-tune/export';
import { fitToMemory } from '../../pipelines/fine-tune/fit-memory';
import { accelerateCommand } from '../../pipelines/fine-tune/scale-out';
import { VALIDATION_SEED, validationImages } from '../../pipelines/fine-tune/validation';
import { loadCheckpointWeights, loadRunState, saveRunCheckpoint } from '../../pipelines/fine-tune/run-checkpoint';
import { defaultTrainConfig, validateTrainConfig, type TrainConfig } from '../../pipelines/fine-tune/train-config';
import { makeTrainable } from '../../pipelines/fine-tune/trainable';
import { Trainer } from '../../pipelines/fine-tune/trainer';
import { FileCheckpointStore } from '../../storage/file-checkpoint-store';

const FLAGS = [
  'model', 'data', 'out', 'mode', 'steps', 'epochs', 'batch', 'accum', 'lr', 'lr-schedule', 'warmup', 'resolution', 'flip', 'seed',
  'checkpoint-every', 'keep', 'resume', 'grad-checkpointing', 'min-snr', 'noise-offset', 'names', 'caption-template', 'classes',
  'max-per-class', 'precision', 'rank', 'alpha', 'lora-targets', 'memory-budget', 'validation-every', 'validation-steps', 'export-dataset',
];

const LORA_TARGET_NAMES = { attention: 'attention', ff: 'feedForward', convs: 'convs' } as const;

/** `--lora-targets attention,ff,convs` (default attention). */
function loraTargetsFrom(f: Flags, fallback: TrainConfig['loraTargets']): TrainConfig['loraTargets'] {
  const given = f.string('lora-targets');
  if (given === undefined) return fallback;
  const targets = { attention: false, feedForward: false, convs: false };
  for (const name of given.split(',').map((x) => x.trim())) {
    const key = LORA_TARGET_NAMES[name as keyof typeof LORA_TARGET_NAMES];
    if (!key) throw new UsageError(`--lora-targets: unknown target "${name}" (choose from attention, ff, convs)`);
    targets[key] = true;
  }
  return targets;
}
const PUBLIC = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'public');

function configFromFlags(f: Flags): TrainConfig {
  const mode = f.choice('mode', ['full', 'lora'] as const, 'full');
  const c = defaultTrainConfig(mode);
  const config: TrainConfig = {
    ...c,
    rank: f.integer('rank', c.rank)!,
    alpha: f.number('alpha', c.alpha)!,
    loraTargets: loraTargetsFrom(f, c.loraTargets),
    steps: f.integer('steps'),
    epochs: f.integer('epochs', c.epochs)!,
    batch: f.integer('batch', c.batch)!,
    accum: f.integer('accum', c.accum)!,
    lr: f.number('lr', c.lr)!,
    lrSchedule: f.choice('lr-schedule', ['constant', 'constant-warmup', 'cosine'] as const, c.lrSchedule),
    warmup: f.integer('warmup', c.warmup)!,
    resolution: f.integer('resolution', c.resolution)!,
    flip: f.boolean('flip'),
    seed: f.integer('seed', c.seed)!,
    checkpointEvery: f.integer('checkpoint-every', c.checkpointEvery)!,
    keep: f.integer('keep', c.keep)!,
    gradCheckpointing: f.string('grad-checkpointing', 'on') !== 'off',
    minSnrGamma: f.number('min-snr', c.minSnrGamma)!,
    noiseOffset: f.number('noise-offset', c.noiseOffset)!,
    captionTemplate: f.string('caption-template', c.captionTemplate),
    validationEvery: f.integer('validation-every', c.validationEvery)!,
    validationSteps: f.integer('validation-steps', c.validationSteps)!,
  };
  try {
    validateTrainConfig(config);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return config;
}

const train: Command = {
  name: 'train',
  summary: 'fine-tune the UNet on a folder of sketches; checkpoints and log.csv in --out',
  help: `usage: npm run stencil -- train --model DIR|FILE --data DIR --out DIR [flags]

Defaults are the reference recipe: full UNet, batch 1 × accumulation 8, 1 epoch, lr 1e-6, 512 px,
checkpoint every 500 steps (keep 3), seed 42.

  --data DIR               ImageNet-Sketch synset folders, class folders, image + .txt captions, or metadata.jsonl
  --out DIR                checkpoint-<step>/ (unet/ or lora.safetensors, + run state) and log.csv
  --rank N --alpha X       LoRA rank (4) and alpha (4)
  --lora-targets LIST      what LoRA adapts: attention (default), ff (feed-forward), convs; comma-separated
  --grad-checkpointing on|off   recompute block activations in the backward pass (default on)
  --mode full|lora         the whole UNet, or LoRA adapters (--rank, --alpha, --lora-targets)
  --steps N | --epochs N   optimizer steps (overrides epochs) or passes over the data
  --batch N --accum N      micro-batch size and gradient accumulation
  --lr X --lr-schedule constant|constant-warmup|cosine --warmup N
  --resolution PX          multiple of 8 (512 default; 256/384 are faster)
  --flip                   random horizontal flips
  --seed N --checkpoint-every N --keep K
  --resume                 continue the newest checkpoint in --out exactly
  --min-snr G --noise-offset X
  --names clip|wordnet --caption-template "sketch of {name}" --classes a,b,c --max-per-class N
  --precision auto|f16|f32
  --validation-every N     images of "sketch of a cat" and "sketch of a house" (seed 42) every N steps,
                           in OUT/validation/ (--validation-steps denoising steps, default 20)
  --export-dataset DIR     for a GPU cluster instead: write the selected dataset as an HF imagefolder with
                           metadata.jsonl and DIR/train.sh, the matching diffusers accelerate command; no training
  --memory-budget GB       the GPU's memory (default 8): a setup that does not fit falls back to gradient
                           checkpointing, then LoRA, then a lower resolution, and says so`,
  async run(argv) {
    const flags = new Flags(parseArgs(argv, ['flip', 'resume']), FLAGS);
    const modelPath = flags.require('model');
    const dataPath = flags.require('data');
    const exportTo = flags.string('export-dataset');
    const out = exportTo ?? flags.require('out');
    let config = configFromFlags(flags);
    const store = await FileCheckpointStore.open(out);
    const resumeFrom = flags.boolean('resume') ? (await store.list()).filter((c) => c.hasRunState).at(-1) : undefined;
    if (flags.boolean('resume') && !resumeFrom) throw new UsageError(`--resume: ${out} has no checkpoint with a run state`);
    const resume = resumeFrom ? await loadRunState(store, resumeFrom.id) : undefined;
    // A resumed run keeps its settings; --steps may extend it.
    if (resume) config = { ...(resume.config as TrainConfig), ...(flags.has('steps') ? { steps: flags.integer('steps') } : {}) };

    const synsets = parseSynsetTables(await readFile(join(PUBLIC, 'imagenet-synsets.tsv'), 'utf8'), await readFile(join(PUBLIC, 'imagenet-clip-classnames.tsv'), 'utf8'));
    const scan = await scanDataset(await nodeDirectory(dataPath), { synsets });
    const dataset = selectDataset(scan, {
      names: flags.choice('names', ['clip', 'wordnet'] as const, 'clip'),
      captionTemplate: config.captionTemplate,
      classes: flags.string('classes')?.split(',').map((s) => s.trim()),
      maxPerClass: flags.integer('max-per-class'),
      seed: config.seed,
    });
    console.error(`${dataPath}: ${dataset.layout}, ${dataset.classes.length} classes, ${dataset.entries.length} images` +
      (dataset.skipped.length ? `, ${dataset.skipped.length} files skipped (${[...new Set(dataset.skipped.map((s) => s.reason))].join(', ')})` : ''));

    const budget = flags.number('memory-budget', 8)! * 2 ** 30;
    if (exportTo) {
      for (const f of await exportImagefolder(dataset)) {
        const path = join(exportTo, f.path);
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, new Uint8Array(await f.blob.arrayBuffer()));
      }
      const command = accelerateCommand(config, modelPath, exportTo, 'sd-sketch-model');
      await writeFile(join(exportTo, 'train.sh'), `#!/usr/bin/env bash\n# diffusers examples/text_to_image, same hyperparameters as this run\n${command}\n`);
      console.log(`${exportTo}: ${dataset.entries.length} images, metadata.jsonl, train.sh\n\n${command}`);
      return 0;
    }
    const engine = await createNodeEngine({ precision: flags.choice('precision', ['auto', 'f16', 'f32'] as const, 'auto'), memoryBudgetBytes: budget });
    try {
      const pipeline = await loadPipelineArg(modelPath, undefined);
      if (!resume) {
        const fitted = fitToMemory({ textEncoder: pipeline.textEncoder.config, unet: pipeline.unet.config, vae: pipeline.vae.config }, config, budget, engine.precision);
        for (const m of fitted.messages) console.error(`memory: ${m}`);
        config = fitted.config;
      }
      const unetConfig = await unetConfigArg(modelPath);
      const trainable = config.mode === 'lora'
        ? attachLora(pipeline.unet, { rank: config.rank, alpha: config.alpha, targets: config.loraTargets, seed: config.seed })
        : makeTrainable(pipeline.unet);
      const trainer = new Trainer({ ...pipeline }, trainable, dataset, config, resume && { state: resume.state, tensors: resume.tensors });
      const info = { runId: 'cli', baseModel: pipeline.metadata.name, captionTemplate: config.captionTemplate, mode: config.mode };
      const log = join(out, 'log.csv');
      if (!resume) await writeFile(log, 'step,loss,lr,loss_scale,seconds\n');
      const bar = progress('train');
      let last = 0;
      while (!trainer.done) {
        const r = await trainer.trainStep();
        last = r.loss;
        await appendFile(log, `${r.step},${r.loss},${r.lr},${r.lossScale},${r.seconds.toFixed(3)}\n`);
        bar.update(r.step, r.totalSteps, `loss ${r.loss.toFixed(4)} (avg ${r.smoothedLoss.toFixed(4)})${r.applied ? '' : ' skipped: inf/NaN gradient'}`);
        if (config.validationEvery > 0 && r.step % config.validationEvery === 0) {
          const images = await validationImages(pipeline, config.validationPrompts, { size: config.resolution, steps: config.validationSteps, seed: VALIDATION_SEED });
          await mkdir(join(out, 'validation'), { recursive: true });
          for (const [i, v] of images.entries()) await writeFile(join(out, 'validation', `step-${r.step}-${i}.png`), v.png);
        }
        if (r.step % config.checkpointEvery === 0 || trainer.done) {
          const manifest = await saveRunCheckpoint(store, trainer, trainable, info, r.loss);
          const weights = await loadCheckpointWeights(store, manifest.id);
          const meta = { ...info, predictionType: pipeline.metadata.predictionType, step: r.step };
          const files = config.mode === 'lora' ? exportLora(weights, config.alpha, meta) : exportDiffusersUnet(weights, unetConfig, meta);
          for (const f of files) {
            const path = join(out, manifest.id, f.path);
            await mkdir(dirname(path), { recursive: true });
            await writeFile(path, new Uint8Array(await f.blob.arrayBuffer()));
          }
        }
      }
      bar.done(`trained ${trainer.step} steps, last loss ${last.toFixed(4)}; checkpoints in ${out}`);
      for (const s of trainer.skippedImages) console.error(`skipped at load: ${s.path} (${s.reason})`);
      trainer.dispose();
      pipeline.dispose();
    } finally {
      engine.dispose();
    }
    return 0;
  },
};

export default train;
