// diffusers components -> one CompVis/LDM single-file .safetensors (what A1111, ComfyUI and the CompVis scripts
// load). Each component's config.json travels in the metadata so that our loader rebuilds non-standard models exactly.
import { diffusersToLdm, type Component, type LdmLayout } from './ldm-keys';
import { writeSafetensors, type TensorToWrite } from './safetensors-writer';
import { CONFIG_METADATA_KEY, type PredictionType } from './single-file';
import type { WeightSource } from './weight-source';

export interface ExportComponent {
  config: Record<string, unknown>;
  weights: WeightSource;
}

export interface SingleFileExportOptions {
  dtype: 'F32' | 'F16';
  predictionType?: PredictionType;
  metadata?: Record<string, string>;
  /** Store each config.json in the metadata (default true); off gives a file like any other LDM checkpoint. */
  embedConfigs?: boolean;
}

/** The LDM layout implied by diffusers configs. SD 2.x text encoders (gelu) are OpenCLIP in LDM files. */
export function layoutFromConfigs(unet: Record<string, unknown>, vae: Record<string, unknown>, textEncoder: Record<string, unknown>): LdmLayout {
  return {
    layersPerBlock: Number(unet.layers_per_block),
    vaeUpBlocks: (vae.up_block_types as unknown[]).length,
    textEncoder: textEncoder.hidden_act === 'quick_gelu' ? 'clip' : 'openclip',
    unetUpBlockHasAttention: (unet.up_block_types as string[]).map((t) => t.includes('CrossAttn')),
  };
}

export async function exportSingleFile(components: Record<Component, ExportComponent>, options: SingleFileExportOptions): Promise<Blob> {
  const layout = layoutFromConfigs(components.unet.config, components.vae.config, components.text_encoder.config);
  const read = (w: WeightSource, name: string) => (options.dtype === 'F32' ? w.readF32(name) : w.readF16Bits(name));
  const tensors: TensorToWrite[] = [];
  // OpenCLIP keeps q, k and v as thirds of one in_proj tensor: gather them, then concatenate rows.
  const fused = new Map<string, { shape: number[]; parts: (Float32Array | Uint16Array)[] }>();
  for (const [component, { weights }] of Object.entries(components) as [Component, ExportComponent][]) {
    for (const name of weights.names()) {
      const place = diffusersToLdm(component, name, layout);
      const shape = weights.shape(name);
      const data = await read(weights, name);
      if (place.part === undefined) {
        tensors.push({ name: place.key, dtype: options.dtype, shape: place.conv1x1 ? [...shape, 1, 1] : shape, data });
        continue;
      }
      const entry = fused.get(place.key) ?? { shape, parts: [] };
      entry.parts[place.part] = data;
      fused.set(place.key, entry);
    }
  }
  for (const [key, { shape, parts }] of fused) {
    if (parts.length !== 3 || parts.some((p) => p === undefined)) throw new Error(`export: q, k and v are not all present for "${key}"`);
    const data = options.dtype === 'F32' ? new Float32Array(parts[0].length * 3) : new Uint16Array(parts[0].length * 3);
    parts.forEach((p, i) => data.set(p, i * p.length));
    tensors.push({ name: key, dtype: options.dtype, shape: [shape[0] * 3, ...shape.slice(1)], data });
  }
  const metadata: Record<string, string> = { ...options.metadata };
  if (options.embedConfigs !== false) {
    for (const c of Object.keys(components) as Component[]) metadata[CONFIG_METADATA_KEY[c]] = JSON.stringify(components[c].config);
  }
  if (options.predictionType) metadata.prediction_type = options.predictionType;
  return writeSafetensors(tensors, metadata);
}
