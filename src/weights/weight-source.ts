// What a model component's weights look like to the model builders, whatever file layout they came from:
// diffusers names, PyTorch shapes, values converted to the precision the caller stores.
import type { Dtype, ElementRange, SafetensorsFile } from './safetensors';

export interface WeightSource {
  /** Metadata of the weight file(s); shards' metadata merged. */
  readonly metadata: Readonly<Record<string, string>>;
  names(): string[];
  has(name: string): boolean;
  shape(name: string): number[];
  /** The stored dtype (before conversion). */
  dtype(name: string): Dtype;
  readF32(name: string): Promise<Float32Array>;
  readF16Bits(name: string): Promise<Uint16Array>;
}

/** Where one diffusers-named weight lives: a tensor (or a contiguous run of its elements) in a file. */
export interface TensorRef {
  file: SafetensorsFile;
  tensor: string;
  /** Elements to take, for a piece of a fused tensor; the whole tensor when absent. */
  range?: ElementRange;
  /** The diffusers shape when it differs from the stored one (1×1 conv ↔ linear, qkv slices). */
  shape?: number[];
}

export function weightSourceFromRefs(
  refs: ReadonlyMap<string, TensorRef>,
  metadata: Readonly<Record<string, string>>,
  describe: string,
): WeightSource {
  const ref = (name: string): TensorRef => {
    const r = refs.get(name);
    if (!r) throw new Error(`${describe}: no weight named "${name}"`);
    return r;
  };
  return {
    metadata,
    names: () => [...refs.keys()],
    has: (name) => refs.has(name),
    shape: (name) => {
      const r = ref(name);
      return r.shape ?? [...r.file.tensor(r.tensor).shape];
    },
    dtype: (name) => {
      const r = ref(name);
      return r.file.tensor(r.tensor).dtype;
    },
    readF32: (name) => {
      const r = ref(name);
      return r.file.readF32(r.tensor, r.range);
    },
    readF16Bits: (name) => {
      const r = ref(name);
      return r.file.readF16Bits(r.tensor, r.range);
    },
  };
}
