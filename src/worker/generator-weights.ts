// Which weights the generator's UNet holds: the loaded model's own, a checkpoint from this browser's store
// (a full fine-tune replaces the UNet; a LoRA one is merged at generation like a LoRA file), or weights a
// full-UNet training run in this tab changed in place. Generation asks for what it needs before each run.
import { blobFile } from '../io/file-source';
import { checkpointMetadata } from '../pipelines/fine-tune/export';
import { checkpointWeightSource } from '../pipelines/fine-tune/run-checkpoint';
import type { LoraToApply } from '../pipelines/lora-apply';
import { loraModules } from '../pipelines/lora-apply';
import type { ModelMetadata } from '../pipelines/load-pipeline';
import type { ComponentSource } from '../models/load';
import { readLora } from '../weights/lora-file';
import { checkpointFiles, storedCheckpoint } from './checkpoint-handlers';
import type { HandlerContext } from './handler-context';
import { forgetModel, loadedModel, type LoadedModel } from './model-loader';

export type GeneratorWeights =
  | { kind: 'base' }
  | { kind: 'checkpoint'; id: string; label: string; mode: 'full' }
  /** Merged at generation with the LoRA files; `base` is the metadata to put back. */
  | { kind: 'checkpoint'; id: string; label: string; mode: 'lora'; lora: LoraToApply; base: ModelMetadata }
  | { kind: 'trained'; label: string };

/** What a result says it was made with. */
export function weightsLabel(w: GeneratorWeights): string {
  return w.kind === 'base' ? 'base model' : w.label;
}

/** The LoRA checkpoint to merge with the user's LoRA files, if one is chosen. */
export function checkpointLora(): LoraToApply | undefined {
  const { weights } = loadedModel();
  return weights.kind === 'checkpoint' && weights.mode === 'lora' ? weights.lora : undefined;
}

/** Marks the UNet as changed in place by training, so asking for the base weights reloads them. */
export function markTrained(label: string): void {
  loadedModel().weights = { kind: 'trained', label };
}

async function replaceUnet(model: LoadedModel, source: ComponentSource, label: string | undefined, ctx: HandlerContext): Promise<void> {
  const onProgress = (done: number, total: number) => ctx.progress(done, total, `${label ?? 'base'} UNet: ${done} of ${total} tensors`);
  try {
    await model.pipeline.replaceUnet(source, label, onProgress);
  } catch (error) {
    // The old UNet is already freed: without its base weights back the model is unusable.
    try {
      await model.pipeline.replaceUnet(await model.baseUnet(), undefined);
      model.weights = { kind: 'base' };
    } catch {
      forgetModel();
    }
    throw error;
  }
}

/** Puts `checkpointId`'s weights (undefined: the base model's) in the generator; a no-op when they are there. */
export async function selectGeneratorWeights(checkpointId: string | undefined, ctx: HandlerContext): Promise<void> {
  const model = loadedModel();
  const current = model.weights;
  if (checkpointId === undefined ? current.kind === 'base' : current.kind === 'checkpoint' && current.id === checkpointId) return;
  // Look the checkpoint up before touching the UNet: a missing one or another base model changes nothing.
  const wanted = checkpointId === undefined ? undefined : await storedCheckpoint(checkpointId);
  if (current.kind === 'checkpoint' && current.mode === 'lora') model.pipeline.metadata = current.base;
  if (current.kind === 'trained' || (current.kind === 'checkpoint' && current.mode === 'full')) {
    await replaceUnet(model, await model.baseUnet(), undefined, ctx);
  }
  model.weights = { kind: 'base' };
  if (!wanted) return;
  const { store, manifest, meta } = wanted;
  const label = `checkpoint at step ${manifest.step} (${manifest.mode === 'full' ? 'full UNet' : 'LoRA'}, run ${manifest.runId.slice(0, 8)})`;
  if (manifest.mode === 'full') {
    // Straight from the store: its f16 tensors are already under diffusers names in PyTorch layout.
    const weights = checkpointWeightSource(store, manifest, checkpointMetadata(meta));
    await replaceUnet(model, { config: model.unetConfig, weights }, label, ctx);
    model.weights = { kind: 'checkpoint', id: manifest.id, label, mode: 'full' };
    return;
  }
  // A LoRA checkpoint is small: its PEFT file goes through the LoRA file reader, as a user's file would.
  const [file] = await checkpointFiles(wanted, 'f16');
  const lora = await readLora(blobFile(file.blob, file.path), loraModules(model.pipeline));
  const base = model.pipeline.metadata;
  model.pipeline.metadata = { ...base, checkpoint: label, fineTuned: true, captionTemplate: manifest.captionTemplate };
  model.weights = { kind: 'checkpoint', id: manifest.id, label, mode: 'lora', lora: { name: `run-${manifest.runId.slice(0, 8)}-step-${manifest.step}`, scale: 1, lora }, base };
}
