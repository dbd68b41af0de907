// A fine-tuning run in the worker: the loaded model's UNet trained on the chosen dataset with the lead's
// Trainer, a checkpoint (with exact-resume state) every N steps and when stopped, the run recorded in
// IndexedDB with its losses, and the tab holding the run's Web Lock so a reload shows it as interrupted.
import { defaultTrainConfig, validateTrainConfig, type TrainConfig } from '../pipelines/fine-tune/train-config';
import { saveRunCheckpoint } from '../pipelines/fine-tune/run-checkpoint';
import { makeTrainable } from '../pipelines/fine-tune/trainable';
import { Trainer } from '../pipelines/fine-tune/trainer';
import { RunStore, runLockName } from '../storage/run-store';
import { openStencilDatabase } from '../storage/stencil-database';
import { checkpointStore } from './checkpoint-handlers';
import { chosenDataset } from './dataset-handlers';
import type { HandlerContext } from './handler-context';
import type { TrainParams, TrainProgress, TrainResult } from './messages';
import { loadedModel } from './model-loader';

let runs: Promise<RunStore<TrainConfig>> | undefined;

function runStore(): Promise<RunStore<TrainConfig>> {
  runs ??= openStencilDatabase().then((db) => new RunStore<TrainConfig>(db));
  return runs;
}

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

export async function train({ selection, config: overrides }: TrainParams, ctx: HandlerContext): Promise<TrainResult> {
  if (active) throw new Error('a training run is already in progress in this tab');
  const { info: model, pipeline } = loadedModel();
  if (overrides.mode === 'lora') throw new Error('LoRA training is not available yet: train the full UNet');
  const config: TrainConfig = { ...defaultTrainConfig(overrides.mode), ...overrides };
  validateTrainConfig(config);
  const dataset = chosenDataset({ ...selection, captionTemplate: config.captionTemplate });
  if (dataset.entries.length === 0) throw new Error('no images are selected: choose at least one class');

  const store = await runStore();
  const checkpoints = await checkpointStore();
  const run = await store.create(config);
  const emit = (detail: TrainProgress, step: number, total: number, label: string) => ctx.progress(step, total, label, detail);
  const info = { runId: run.id, baseModel: model.name, captionTemplate: config.captionTemplate, mode: config.mode };
  const trainable = makeTrainable(pipeline.unet);
  const trainer = new Trainer(pipeline, trainable, dataset, config);
  active = true;
  let lastSaved = 0;
  let lastLoss: number | undefined;
  const checkpoint = async () => {
    const manifest = await saveRunCheckpoint(checkpoints, trainer, trainable, info, lastLoss);
    lastSaved = trainer.step;
    await store.update(run.id, { lastCheckpointId: manifest.id, step: trainer.step });
    emit({ kind: 'checkpoint', runId: run.id, step: trainer.step, totalBytes: manifest.totalBytes }, trainer.step, trainer.totalSteps, `checkpoint at step ${trainer.step} saved`);
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
      }
      const stopped = !trainer.done;
      // A stopped run keeps its progress: save what was trained since the last checkpoint, then it can resume.
      if (stopped && trainer.step > lastSaved) await checkpoint();
      await store.update(run.id, { status: stopped ? 'paused' : 'done', step: trainer.step });
      return { runId: run.id, step: trainer.step, totalSteps: trainer.totalSteps, stopped };
    });
  } catch (e) {
    await store.update(run.id, { status: 'interrupted', step: trainer.step }).catch(() => undefined);
    throw e;
  } finally {
    active = false;
    pause = undefined;
    trainer.dispose();
  }
}
