// A fine-tuning run in the worker: the loaded model's UNet (all of it, or LoRA adapters) trained on the
// chosen dataset with the lead's Trainer, a new run's settings fitted to the GPU memory budget, a
// checkpoint (with exact-resume state) every N steps and when stopped, validation images every N steps, the
// run recorded in IndexedDB with its losses, and the tab holding the run's Web Lock so a reload shows it as
// interrupted and offers to resume it exactly.
import type { DatasetSelection } from '../data/dataset-selection';
import { engine } from '../engine/engine';
import type { DeviceLostError } from '../engine/errors';
import { attachLora, detachLora } from '../nn/lora';
import { GenerationCancelledError } from '../pipelines/generation-errors';
import { ACTIVATION_FACTOR } from '../pipelines/fine-tune/fit-memory';
import type { TrainConfig } from '../pipelines/fine-tune/train-config';
import { loadRunState, saveRunCheckpoint } from '../pipelines/fine-tune/run-checkpoint';
import { makeTrainable } from '../pipelines/fine-tune/trainable';
import { Trainer } from '../pipelines/fine-tune/trainer';
import { trainingPlan, type TrainingPlan } from '../pipelines/fine-tune/training-plan';
import { VALIDATION_SEED, validationImages } from '../pipelines/fine-tune/validation';
import { RunStore, runLockName, type RunStatus } from '../storage/run-store';
import { openStencilDatabase } from '../storage/stencil-database';
import { checkpointStore } from './checkpoint-handlers';
import { chosenDataset } from './dataset-handlers';
import { markTrained, selectGeneratorWeights } from './generator-weights';
import type { HandlerContext } from './handler-context';
import type { EngineMethods, ResumableRun, TrainParams, TrainProgress, TrainResult } from './messages';
import { loadedModel } from './model-loader';
import { newRunSetup } from './training-setup';

/** What a run record keeps so the run can be resumed: its settings and what it was trained on. */
interface RunConfig {
  train: TrainConfig;
  selection: DatasetSelection;
  model: string;
  dataset: string;
}

let runs: Promise<RunStore<RunConfig>> | undefined;

function runStore(): Promise<RunStore<RunConfig>> {
  runs ??= openStencilDatabase().then((db) => new RunStore<RunConfig>(db));
  return runs;
}

export async function resumableRuns(): Promise<ResumableRun[]> {
  return (await (await runStore()).resumable()).map((r) => ({
    id: r.id,
    status: r.status === 'paused' ? 'paused' : 'interrupted',
    updatedAt: r.updatedAt,
    step: r.step,
    steps: r.config.train.steps,
    mode: r.config.train.mode,
    model: r.config.model,
    dataset: r.config.dataset,
  }));
}

/** The memory plan of a run on the loaded model, from its configs alone (for the page's estimate). */
export function planTraining(p: EngineMethods['trainingPlan']['params']): TrainingPlan {
  const { unet, textEncoder, vae } = loadedModel().pipeline;
  return trainingPlan(
    { textEncoder: textEncoder.config, unet: unet.config, vae: vae.config },
    {
      mode: p.mode,
      precision: engine().precision,
      size: p.resolution,
      batch: p.batch,
      rank: p.rank,
      loraTargets: p.loraTargets,
      activationFactor: p.gradCheckpointing ? ACTIVATION_FACTOR.checkpointed : ACTIVATION_FACTOR.plain,
    },
  );
}

/** How long a failed run waits for the device-lost report that may follow the failure. */
const LOST_GRACE_MS = 1000;

/** Pause is a gate the loop waits at between steps; resolving it lets the run continue. */
let pause: { promise: Promise<void>; release: () => void } | undefined;
let active = false;

export function setPaused(paused: boolean): void {
  if (!active) throw new Error('no training run is in progress');
  if (paused && !pause) {
    let release = () => {};
    const promise = new Promise<void>((resolve) => (release = resolve));
    pause = { promise, release };
  } else if (!paused && pause) {
    pause.release();
    pause = undefined;
  }
}

export async function train(params: TrainParams, ctx: HandlerContext): Promise<TrainResult> {
  if (active) throw new Error('a training run is already in progress in this tab');
  const { info: model, pipeline } = loadedModel();
  // A run trains the model's own weights: no checkpoint in the generator, no LoRA files merged.
  await selectGeneratorWeights(undefined, ctx);
  pipeline.loras?.restore();
  pipeline.loras = undefined;
  const store = await runStore();
  const checkpoints = await checkpointStore();

  let run;
  let resume;
  let memoryFit: string[] = [];
  /** Where the record goes back to if the trainer cannot be set up. */
  let notStarted: RunStatus;
  if (params.kind === 'resume') {
    run = await store.get(params.runId);
    if (!run?.lastCheckpointId) throw new Error('this run has no checkpoint to resume from');
    const { model: wantModel, dataset: wantData } = run.config;
    if (model.name !== wantModel || chosenDataset(run.config.selection).source !== wantData) {
      throw new Error(`the run was trained from model "${wantModel}" on the folder "${wantData}": load that model and open that folder first`);
    }
    resume = await loadRunState(checkpoints, run.lastCheckpointId);
    notStarted = run.status;
    await store.update(run.id, { status: 'running' });
  } else {
    // The record keeps the fitted settings, so resuming the run uses them too.
    const { bridge, precision } = engine();
    const configs = { textEncoder: pipeline.textEncoder.config, unet: pipeline.unet.config, vae: pipeline.vae.config };
    const fitted = newRunSetup(params.config, configs, bridge.budgetBytes, precision);
    const train: TrainConfig = fitted.config;
    memoryFit = fitted.messages;
    // Without a checkpoint it is never offered for resuming.
    notStarted = 'interrupted';
    const selection = { ...params.selection, captionTemplate: train.captionTemplate };
    const dataset = chosenDataset(selection);
    if (dataset.entries.length === 0) throw new Error('no images are selected: choose at least one class');
    run = await store.create({ train, selection, model: model.name, dataset: dataset.source });
  }
  const config = run.config.train;
  const dataset = chosenDataset(run.config.selection);
  const emit = (detail: TrainProgress, step: number, total: number, label: string) => ctx.progress(step, total, label, detail);
  // Before the trainer is set up, so that a fitted run that still fails shows what was changed.
  const startStep = resume?.state.step ?? 0;
  emit({ kind: 'started', runId: run.id, step: startStep, memoryFit, losses: resume?.state.losses ?? [] }, startStep, config.steps ?? 0, 'setting up the run');
  const info = { runId: run.id, baseModel: model.name, captionTemplate: config.captionTemplate, mode: config.mode };
  const lora = config.mode === 'lora' ? attachLora(pipeline.unet, { rank: config.rank, alpha: config.alpha, targets: config.loraTargets, seed: config.seed }) : undefined;
  const trainable = lora ?? makeTrainable(pipeline.unet);
  // The run's adapters come off at its end (its checkpoints keep them): the next run or generation starts
  // from the base UNet.
  const release = () => {
    if (lora) detachLora(lora.adapters);
    // The full UNet was trained in place: generating with the base model reloads its weights.
    else markTrained(`weights trained in this tab (run ${run.id.slice(0, 8)})`);
  };
  let trainer: Trainer;
  try {
    trainer = new Trainer(pipeline, trainable, dataset, config, resume && { state: resume.state, tensors: resume.tensors });
  } catch (e) {
    release();
    await store.update(run.id, { status: notStarted }).catch(() => undefined);
    throw e;
  }
  // A lost device fails the step in flight with whatever the GPU said first; the page must learn it was the
  // device (it then resumes the run in a fresh engine).
  const lost = new Promise<DeviceLostError>((resolve) => engine().onLost(resolve));
  active = true;
  let lastSaved = trainer.step;
  let lastLoss: number | undefined;
  const checkpoint = async () => {
    const manifest = await saveRunCheckpoint(checkpoints, trainer, trainable, info, lastLoss);
    lastSaved = trainer.step;
    await store.update(run.id, { lastCheckpointId: manifest.id, step: trainer.step });
    emit({ kind: 'checkpoint', runId: run.id, step: trainer.step, totalBytes: manifest.totalBytes }, trainer.step, trainer.totalSteps, `checkpoint at step ${trainer.step} saved`);
  };
  // Generation with the weights being trained (LoRA adapters apply in the forward); its noise has its own
  // seed, so the trainer's random stream and data order, and with them exact resume, are untouched.
  const validate = async (step: number) => {
    emit({ kind: 'validating', runId: run.id, step }, step, trainer.totalSteps, `making validation images at step ${step}`);
    try {
      const images = await validationImages(pipeline, config.validationPrompts, {
        size: config.resolution,
        steps: config.validationSteps,
        seed: VALIDATION_SEED,
        signal: ctx.signal,
      });
      emit({ kind: 'validation', runId: run.id, step, images }, step, trainer.totalSteps, `validation images at step ${step}`);
    } catch (e) {
      // Stop during validation: the run stops as it does between steps.
      if (!(e instanceof GenerationCancelledError)) throw e;
    }
  };
  try {
    // Held while this tab trains: a run marked running whose lock nobody holds was interrupted.
    return await navigator.locks.request(runLockName(run.id), async () => {
      while (!trainer.done && !ctx.signal.aborted) {
        if (pause) {
          await store.update(run.id, { status: 'paused' });
          emit({ kind: 'paused', runId: run.id, paused: true }, trainer.step, trainer.totalSteps, 'paused');
          // Stop wins over pause: an abort releases the gate too.
          await Promise.race([pause.promise, new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }))]);
          if (ctx.signal.aborted) break;
          await store.update(run.id, { status: 'running' });
          emit({ kind: 'paused', runId: run.id, paused: false }, trainer.step, trainer.totalSteps, 'resumed');
        }
        const report = await trainer.trainStep();
        if (report.applied) lastLoss = report.loss;
        await store.recordLosses(run.id, [{ step: report.step, loss: report.loss }]);
        emit({ kind: 'step', runId: run.id, report }, report.step, report.totalSteps, `step ${report.step} of ${report.totalSteps}`);
        if (report.step % config.checkpointEvery === 0 || trainer.done) await checkpoint();
        if (config.validationEvery > 0 && report.step % config.validationEvery === 0) await validate(report.step);
      }
      const stopped = !trainer.done;
      // A stopped run keeps its progress: save what was trained since the last checkpoint, then it can resume.
      if (stopped && trainer.step > lastSaved) await checkpoint();
      await store.update(run.id, { status: stopped ? 'paused' : 'done', step: trainer.step });
      return { runId: run.id, step: trainer.step, totalSteps: trainer.totalSteps, stopped };
    });
  } catch (e) {
    await store.update(run.id, { status: 'interrupted', step: trainer.step }).catch(() => undefined);
    throw (await Promise.race([lost, new Promise<undefined>((resolve) => setTimeout(resolve, LOST_GRACE_MS))])) ?? e;
  } finally {
    active = false;
    pause = undefined;
    trainer.dispose();
    release();
  }
}
