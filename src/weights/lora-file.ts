// LoRA files: kohya (`lora_unet_<module with _>.lora_down/.lora_up/.alpha`, A1111/ComfyUI), diffusers/PEFT
// (`unet.<module>.lora_A/.lora_B`, alpha in the adapter metadata) and the older diffusers attention-processor
// keys (`<attn>.processor.to_q_lora.down`). All read to one form keyed by the diffusers module path, and
// written back in the first two.
import type { FileLike } from '../io/file-source';
import { openSafetensors } from './safetensors';
import { writeSafetensors, type TensorToWrite } from './safetensors-writer';

export type LoraComponent = 'unet' | 'text_encoder';

export interface LoraLayer {
  component: LoraComponent;
  /** Diffusers module path, e.g. down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q. */
  module: string;
  /** [rank, in] for linear, [rank, in, kh, kw] for conv. */
  down: { shape: number[]; data: Float32Array };
  /** [out, rank] for linear, [out, rank, 1, 1] for conv. */
  up: { shape: number[]; data: Float32Array };
  /** The update is (alpha / rank) · up · down; alpha defaults to the rank. */
  alpha: number;
}

export type LoraFormat = 'kohya' | 'peft' | 'diffusers-attn-procs';

export interface LoraFile {
  format: LoraFormat;
  layers: LoraLayer[];
  metadata: Record<string, string>;
}

export class LoraFileError extends Error {
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'LoraFileError';
  }
}

const KOHYA_PREFIX: Record<LoraComponent, string> = { unet: 'lora_unet_', text_encoder: 'lora_te_' };
const PEFT_PREFIX: Record<LoraComponent, string> = { unet: 'unet.', text_encoder: 'text_encoder.' };

/** Module paths of a model: its parameter names without the trailing .weight/.bias. */
export function modulePaths(parameterNames: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const name of parameterNames) {
    const m = /^(.*)\.(weight|bias)$/.exec(name);
    if (m) out.add(m[1]);
  }
  return [...out];
}

interface Parsed {
  component: LoraComponent;
  module: string;
  part: 'down' | 'up' | 'alpha';
}

/**
 * Reads a LoRA file. `modules` lists each component's module paths (needed to undo kohya's '.' -> '_',
 * which is ambiguous on its own); a key naming no module of the model is an error.
 */
export async function readLora(file: FileLike, modules: Partial<Record<LoraComponent, Iterable<string>>>): Promise<LoraFile> {
  const st = await openSafetensors(file);
  const kohya = new Map<string, Omit<Parsed, 'part'>>();
  const known = new Map<LoraComponent, Set<string>>();
  for (const [component, list] of Object.entries(modules) as [LoraComponent, Iterable<string>][]) {
    const set = new Set(list);
    known.set(component, set);
    for (const m of set) kohya.set(KOHYA_PREFIX[component] + m.replace(/\./g, '_'), { component, module: m });
  }
  const fail = (message: string): never => {
    throw new LoraFileError(file.path, message);
  };
  const names = [...st.tensors.keys()];
  const format: LoraFormat = names.some((n) => n.startsWith('lora_unet_') || n.startsWith('lora_te_'))
    ? 'kohya'
    : names.some((n) => /\.lora_[AB]\./.test(n))
      ? 'peft'
      : names.some((n) => /_lora\.(down|up)\./.test(n))
        ? 'diffusers-attn-procs'
        : fail('no LoRA weights found (expected kohya lora_unet_*, PEFT lora_A/lora_B or *_lora.down keys)');

  const parse = (key: string): Parsed | null => {
    if (format === 'kohya') {
      const m = /^(lora_(?:unet|te)_[\w]+?)\.(lora_down\.weight|lora_up\.weight|alpha)$/.exec(key);
      if (!m) return null;
      const target = kohya.get(m[1]) ?? fail(`"${key}" names no module of the model`);
      return { ...target, part: m[2] === 'alpha' ? 'alpha' : m[2].startsWith('lora_down') ? 'down' : 'up' };
    }
    if (format === 'peft') {
      const m = /^(unet|text_encoder)\.(.+)\.lora_([AB])(?:\.default)?\.weight$/.exec(key);
      if (!m) return null;
      return { component: m[1] as LoraComponent, module: m[2], part: m[3] === 'A' ? 'down' : 'up' };
    }
    const m = /^(?:unet\.)?(.+)\.processor\.(to_q|to_k|to_v|to_out)_lora\.(down|up)\.weight$/.exec(key);
    if (!m) return null;
    return { component: 'unet', module: `${m[1]}.${m[2] === 'to_out' ? 'to_out.0' : m[2]}`, part: m[3] as 'down' | 'up' };
  };

  const peftAlpha = peftAlphas(st.metadata);
  const groups = new Map<string, { component: LoraComponent; module: string; down?: string; up?: string; alpha?: string }>();
  for (const key of names) {
    const p = parse(key);
    if (!p) continue;
    if (!known.get(p.component)?.has(p.module)) fail(`"${key}" names no ${p.component} module of the model (${p.module})`);
    const id = `${p.component}:${p.module}`;
    const g = groups.get(id) ?? { component: p.component, module: p.module };
    g[p.part] = key;
    groups.set(id, g);
  }
  const layers: LoraLayer[] = [];
  for (const g of groups.values()) {
    if (!g.down || !g.up) fail(`${g.component} module ${g.module} has only one of its down/up weights`);
    const downShape = [...st.tensor(g.down!).shape];
    const upShape = [...st.tensor(g.up!).shape];
    const rank = downShape[0];
    if (upShape[1] !== rank) fail(`${g.module}: up [${upShape}] does not match down [${downShape}] (rank ${rank})`);
    const alpha = g.alpha ? (await st.readF32(g.alpha))[0] : (peftAlpha ?? rank);
    layers.push({
      component: g.component,
      module: g.module,
      down: { shape: downShape, data: await st.readF32(g.down!) },
      up: { shape: upShape, data: await st.readF32(g.up!) },
      alpha,
    });
  }
  if (layers.length === 0) fail('the file has LoRA-like keys but no complete layer');
  layers.sort((a, b) => (a.module < b.module ? -1 : a.module > b.module ? 1 : 0));
  return { format, layers, metadata: { ...st.metadata } };
}

/** diffusers stores the PEFT adapter config (lora_alpha) as JSON in the metadata. */
function peftAlphas(metadata: Readonly<Record<string, string>>): number | undefined {
  for (const key of ['lora_adapter_metadata', 'unet_lora_adapter_metadata']) {
    const text = metadata[key];
    if (!text) continue;
    try {
      const alpha = (JSON.parse(text) as { lora_alpha?: unknown }).lora_alpha;
      if (typeof alpha === 'number') return alpha;
    } catch {
      // Not JSON: fall back to alpha = rank.
    }
  }
  return undefined;
}

export function writeLora(layers: readonly LoraLayer[], format: 'kohya' | 'peft', metadata: Record<string, string> = {}): Blob {
  const tensors: TensorToWrite[] = [];
  const alphas = new Set(layers.map((l) => l.alpha));
  for (const l of layers) {
    if (format === 'kohya') {
      const base = KOHYA_PREFIX[l.component] + l.module.replace(/\./g, '_');
      tensors.push({ name: `${base}.lora_down.weight`, dtype: 'F32', shape: l.down.shape, data: l.down.data });
      tensors.push({ name: `${base}.lora_up.weight`, dtype: 'F32', shape: l.up.shape, data: l.up.data });
      tensors.push({ name: `${base}.alpha`, dtype: 'F32', shape: [], data: Float32Array.of(l.alpha) });
    } else {
      const base = PEFT_PREFIX[l.component] + l.module;
      tensors.push({ name: `${base}.lora_A.weight`, dtype: 'F32', shape: l.down.shape, data: l.down.data });
      tensors.push({ name: `${base}.lora_B.weight`, dtype: 'F32', shape: l.up.shape, data: l.up.data });
    }
  }
  if (format === 'peft') {
    if (alphas.size > 1) throw new Error('PEFT files hold one lora_alpha for all layers; these layers differ');
    const rank = layers[0]?.down.shape[0] ?? 0;
    metadata = { ...metadata, lora_adapter_metadata: JSON.stringify({ r: rank, lora_alpha: [...alphas][0] ?? rank }) };
  }
  return writeSafetensors(tensors, metadata);
}
