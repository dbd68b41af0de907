// Checkpoints of a fine-tuning run in a CheckpointStore (IndexedDB in the browser, a folder in Node): the
// trained weights as f16 in PyTorch layout under their diffusers (or LoRA) names, so any exporter can use
// them as they are, plus — on the newest checkpoint — the run state to resume exactly (f32 masters in our
// layouts, Adam moments, RNG and data cursor).
import { f16BitsToF32, toF16Bits } from '../../engine/f16';
import { toTorchLayout } from '../../models/weight-layout';
import type { CheckpointManifest, CheckpointStore, LoadedTensor, TensorSet } from '../../storage/checkpoint-format';
import type { WeightSource } from '../../weights/weight-source';
import type { TrainableWeights } from './trainable';
import type { RunState, RunTensors, Trainer } from './trainer';

export interface RunInfo {
  runId: string;
  baseModel: string;
  captionTemplate: string;
  mode: 'full' | 'lora';
}

const bytesOf = (a: Float32Array | Uint16Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

export async function saveRunCheckpoint(
  store: CheckpointStore,
  trainer: Trainer,
  trainable: TrainableWeights,
  info: RunInfo,
  loss: number | undefined,
): Promise<CheckpointManifest> {
  const { state, tensors } = await trainer.saveState();
  const weights: Record<string, TensorSet[string]> = {};
  tensors.weights.forEach((w, i) => {
    const torch = toTorchLayout(trainable.layouts[i], w);
    weights[trainable.names[i]] = { dtype: 'f16', shape: torch.shape, bytes: bytesOf(toF16Bits(torch.data)) };
  });
  const runTensors: Record<string, TensorSet[string]> = {};
  trainable.variables.forEach((v, i) => {
    runTensors[`master/${i}`] = { dtype: 'f32', shape: v.shape, bytes: bytesOf(tensors.weights[i]) };
    runTensors[`m/${i}`] = { dtype: 'f32', shape: v.shape, bytes: bytesOf(tensors.m[i]) };
    runTensors[`v/${i}`] = { dtype: 'f32', shape: v.shape, bytes: bytesOf(tensors.v[i]) };
  });
  return store.save(
    { ...info, step: state.step, loss, tensors: weights, runState: { state: { run: state, config: trainer.config }, tensors: runTensors } },
    { keep: trainer.config.keep },
  );
}

function toF32(t: LoadedTensor): Float32Array {
  if (t.dtype === 'f32') return new Float32Array(t.bytes.buffer.slice(t.bytes.byteOffset, t.bytes.byteOffset + t.bytes.byteLength));
  const halves = new Uint16Array(t.bytes.buffer.slice(t.bytes.byteOffset, t.bytes.byteOffset + t.bytes.byteLength));
  return Float32Array.from(halves, f16BitsToF32);
}

/** The state to resume a run from its checkpoint `id` (which must be the run's newest). */
export async function loadRunState(store: CheckpointStore, id: string): Promise<{ state: RunState; tensors: RunTensors; config: unknown }> {
  const manifest = await store.manifest(id);
  if (!manifest) throw new Error(`no checkpoint "${id}"`);
  if (!manifest.runState) throw new Error(`checkpoint "${id}" has no run state (only a run's newest checkpoint keeps it); resume from the newest`);
  const saved = manifest.runState.state as { run: RunState; config: unknown };
  const tensors: RunTensors = { weights: [], m: [], v: [] };
  for await (const t of store.readTensors(id, { part: 'run-state' })) {
    const [kind, index] = t.name.split('/');
    const list = kind === 'master' ? tensors.weights : kind === 'm' ? tensors.m : tensors.v;
    list[Number(index)] = toF32(t);
  }
  return { state: saved.run, tensors, config: saved.config };
}

/** The trained weights of checkpoint `id` by name, as f32 in PyTorch layout. */
export async function loadCheckpointWeights(store: CheckpointStore, id: string): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for await (const t of store.readTensors(id, { part: 'weights' })) out.set(t.name, { shape: t.shape, data: toF32(t) });
  return out;
}

/**
 * Checkpoint `manifest`'s trained weights as a WeightSource for the model loaders: the stored f16 bytes
 * go to the GPU as they are, read in one pass over the chunks when asked for in stored order (the model's
 * parameter order, which the loaders follow); asking for an earlier tensor starts a new pass.
 */
export function checkpointWeightSource(store: CheckpointStore, manifest: CheckpointManifest, metadata: Readonly<Record<string, string>>): WeightSource {
  const entries = manifest.weights.tensors;
  const index = new Map(entries.map((t, i) => [t.name, i]));
  const position = (name: string) => {
    const i = index.get(name);
    if (i === undefined) throw new Error(`checkpoint "${manifest.id}" has no weight "${name}"`);
    return i;
  };
  const entry = (name: string) => entries[position(name)];
  let pass: AsyncGenerator<LoadedTensor> | undefined;
  let at = -1;
  const read = async (name: string): Promise<LoadedTensor> => {
    const wanted = position(name);
    if (!pass || wanted <= at) {
      pass = store.readTensors(manifest.id);
      at = -1;
    }
    for (;;) {
      const next = await pass.next();
      if (next.done) throw new Error(`checkpoint "${manifest.id}" ended before weight "${name}"`);
      if (++at === wanted) return next.value;
    }
  };
  return {
    metadata,
    names: () => entries.map((t) => t.name),
    has: (name) => index.has(name),
    shape: (name) => [...entry(name).shape],
    dtype: (name) => (entry(name).dtype === 'f16' ? 'F16' : 'F32'),
    readF32: async (name) => toF32(await read(name)),
    readF16Bits: async (name) => {
      const t = await read(name);
      return t.dtype === 'f16' ? new Uint16Array(t.bytes.buffer.slice(t.bytes.byteOffset, t.bytes.byteOffset + t.bytes.byteLength)) : toF16Bits(toF32(t));
    },
  };
}
