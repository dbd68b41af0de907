// A checkpoint's trained UNet as the files other tools read: a diffusers `unet/` folder (config.json +
// diffusion_pytorch_model.safetensors, f16 or f32) carrying our metadata (fine-tuned marker, base model,
// caption template, prediction type, step), loadable by diffusers, by our generator and by `--checkpoint`.
import { toF16Bits } from '../../engine/f16';
import { writeLora, type LoraLayer } from '../../weights/lora-file';
import { writeSafetensors, type TensorToWrite } from '../../weights/safetensors-writer';
import { METADATA_KEYS } from '../load-pipeline';

export interface ExportMetadata {
  baseModel: string;
  captionTemplate: string;
  predictionType: 'epsilon' | 'v_prediction';
  step: number;
  mode: 'full' | 'lora';
}

export interface ExportedFile {
  path: string;
  blob: Blob;
}

export function checkpointMetadata(m: ExportMetadata): Record<string, string> {
  return {
    [METADATA_KEYS.fineTuned]: 'true',
    [METADATA_KEYS.baseModel]: m.baseModel,
    [METADATA_KEYS.captionTemplate]: m.captionTemplate,
    [METADATA_KEYS.predictionType]: m.predictionType,
    mode: m.mode,
    step: String(m.step),
  };
}

/** `weights`: every UNet parameter by diffusers key, f32 in PyTorch layout. */
export function exportDiffusersUnet(
  weights: ReadonlyMap<string, { shape: number[]; data: Float32Array }>,
  unetConfig: Record<string, unknown>,
  meta: ExportMetadata,
  dtype: 'f16' | 'f32' = 'f16',
): ExportedFile[] {
  const tensors: TensorToWrite[] = [...weights].map(([name, t]) =>
    dtype === 'f16' ? { name, dtype: 'F16', shape: t.shape, data: toF16Bits(t.data) } : { name, dtype: 'F32', shape: t.shape, data: t.data },
  );
  // The plain file name, whatever the dtype: diffusers' from_pretrained finds it without a variant argument.
  return [
    { path: 'unet/config.json', blob: new Blob([JSON.stringify(unetConfig, null, 2)]) },
    { path: 'unet/diffusion_pytorch_model.safetensors', blob: writeSafetensors(tensors, checkpointMetadata(meta)) },
  ];
}

/** A LoRA checkpoint (`<module>.lora_A.weight` / `.lora_B.weight`, PyTorch layout) as a PEFT-keyed lora.safetensors. */
export function exportLora(weights: ReadonlyMap<string, { shape: number[]; data: Float32Array }>, alpha: number, meta: ExportMetadata): ExportedFile[] {
  const layers: LoraLayer[] = [];
  for (const [name, down] of weights) {
    const m = /^(.*)\.lora_A\.weight$/.exec(name);
    if (!m) continue;
    const up = weights.get(`${m[1]}.lora_B.weight`);
    if (!up) throw new Error(`LoRA checkpoint: ${m[1]} has lora_A but no lora_B`);
    layers.push({ component: 'unet', module: m[1], down, up, alpha });
  }
  return [{ path: 'lora.safetensors', blob: writeLora(layers, 'peft', checkpointMetadata(meta)) }];
}
