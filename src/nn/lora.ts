// LoRA adapters on Linear and Conv2d modules: y = W x + Σ scale · up(down(x)), scale = multiplier · alpha / rank,
// computed with the model's own Ops (two linears, or the module's conv then a 1×1 conv). The adapters live
// beside the base weights, never among the module's parameters, so the base model's diffusers names and
// checkpoints are untouched. For training they are f32 tf.Variables while the base weights stay PackedF16 or
// plain tensors: the tape only computes gradients for the adapters.
import * as tf from '@tensorflow/tfjs';
import { packF16 } from '../engine/f16-tensor';
import { toOurLayout, toTorchLayout, type LayoutOf } from '../models/weight-layout';
import { asTensor } from '../ops/reference';
import type { Ops, Weight } from '../ops/types';
import type { TrainableWeights } from '../pipelines/fine-tune/trainable';
import { Philox } from '../random/philox';
import type { LoraComponent, LoraLayer } from '../weights/lora-file';
import type { Module, Parameter } from './module';

export type LoraKind = 'linear' | 'conv';

export class LoraAdapter {
  /** Folded into the base weight by mergeLora: the forward skips it. */
  merged = false;

  constructor(
    /** Diffusers module path, e.g. down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q. */
    readonly module: string,
    readonly slot: LoraSlot,
    /** Our layout: linear [in, rank]; conv HWIO [kh, kw, in, rank]. */
    readonly down: tf.Tensor,
    /** Our layout: linear [rank, out]; conv [1, 1, rank, out]. */
    readonly up: tf.Tensor,
    readonly alpha: number,
    /** The user's strength for this adapter. */
    public multiplier = 1,
  ) {}

  get rank(): number {
    return this.down.shape[this.down.shape.length - 1]!;
  }

  get scale(): number {
    return (this.multiplier * this.alpha) / this.rank;
  }

  /** PyTorch shapes of lora_A / lora_B (PEFT's: conv-like when the base weight is 4-D) and our layouts of them. */
  get layouts(): { down: LayoutOf; up: LayoutOf } {
    return loraLayouts(this.slot, this.rank);
  }
}

function loraLayouts(slot: LoraSlot, rank: number): { down: LayoutOf; up: LayoutOf } {
  const base = slot.weight.torchShape;
  const layout = slot.kind === 'conv' ? 'conv' : 'linear';
  return {
    down: { torchShape: [rank, ...base.slice(1)], layout },
    up: { torchShape: base.length === 4 ? [base[0], rank, 1, 1] : [base[0], rank], layout },
  };
}

/** What a Linear or Conv2d holds for LoRA: its adapters and, while some are merged, the original weight. */
export class LoraSlot {
  readonly adapters: LoraAdapter[] = [];
  /** The exact base weight, kept while adapters are merged into the parameter. */
  original?: Weight;

  constructor(
    readonly kind: LoraKind,
    readonly weight: Parameter,
  ) {}

  private get active(): LoraAdapter[] {
    return this.adapters.filter((a) => !a.merged);
  }

  get empty(): boolean {
    return this.active.length === 0;
  }

  /**
   * y + Σ scale · up(down(x)) for a linear; the scale multiplies the rank-wide intermediate (the cheapest
   * place). Call inside a tidy: the partial sums are left to it.
   */
  addLinear(ops: Ops, x: tf.Tensor, y: tf.Tensor): tf.Tensor {
    let out = y;
    for (const a of this.active) out = ops.add(out, ops.linear(tf.mul(ops.linear(x, a.down), a.scale), a.up));
    return out;
  }

  /** The same for a conv: down has the base conv's geometry, up is 1×1 with the running sum as its residual. */
  addConv(ops: Ops, x: tf.Tensor4D, y: tf.Tensor4D, stride: 1 | 2, padding: number): tf.Tensor4D {
    let out = y;
    for (const a of this.active) {
      const d = tf.mul(ops.conv2d(x, a.down, undefined, { stride, padding }), a.scale) as tf.Tensor4D;
      out = ops.conv2d(d, a.up, undefined, { residual: out });
    }
    return out;
  }

  dispose(): void {
    for (const a of this.adapters.splice(0)) tf.dispose([a.down, a.up]);
    if (this.original) disposeWeight(this.original);
    this.original = undefined;
  }
}

/** A module that can carry LoRA adapters (Linear, Conv2d). */
interface LoraHost extends Module {
  readonly lora: LoraSlot;
}

function isHost(m: Module): m is LoraHost {
  return (m as Partial<LoraHost>).lora instanceof LoraSlot;
}

function hosts(model: Module): Map<string, LoraHost> {
  const out = new Map<string, LoraHost>();
  for (const [path, m] of model.namedModules()) if (isHost(m)) out.set(path, m);
  return out;
}

/** Every adapter attached anywhere under `model`, in module order. */
export function loraAdapters(model: Module): LoraAdapter[] {
  return [...hosts(model).values()].flatMap((h) => h.lora.adapters);
}

export interface LoraTargets {
  /** to_q, to_k, to_v, to_out.0 of every attention (default on). */
  attention?: boolean;
  /** ff.net.0.proj and ff.net.2. */
  feedForward?: boolean;
  /** The resnets' conv1, conv2, conv_shortcut and the transformers' proj_in, proj_out. */
  convs?: boolean;
}

const TARGETS: Record<keyof LoraTargets, RegExp> = {
  attention: /(^|\.)attn\d+\.(to_q|to_k|to_v|to_out\.0)$/,
  feedForward: /(^|\.)ff\.net\.(0\.proj|2)$/,
  convs: /(^|\.)(resnets\.\d+\.(conv1|conv2|conv_shortcut)|attentions\.\d+\.(proj_in|proj_out))$/,
};

export interface AttachLoraOptions {
  rank: number;
  /** Default: the rank (scale 1). */
  alpha?: number;
  targets?: LoraTargets;
  /** Seeds the Philox stream lora_A is drawn from. */
  seed?: number;
}

export interface LoraTraining extends TrainableWeights {
  adapters: LoraAdapter[];
}

function targetHosts(model: Module, targets: LoraTargets): [string, LoraHost][] {
  const patterns = (Object.keys(TARGETS) as (keyof LoraTargets)[]).filter((k) => targets[k]).map((k) => TARGETS[k]);
  return [...hosts(model)].filter(([path]) => patterns.some((p) => p.test(path)));
}

/** The parameters rank-`rank` adapters on `model`'s target modules hold (lora_A + lora_B), without making them. */
export function loraParameterCount(model: Module, rank: number, targets: LoraTargets): number {
  let n = 0;
  for (const [, host] of targetHosts(model, targets)) {
    const [out, ...rest] = host.lora.weight.torchShape;
    n += rank * (out + rest.reduce((a, b) => a * b, 1));
  }
  return n;
}

/**
 * New trainable adapters on `model`'s target modules: lora_A drawn like PEFT (kaiming-uniform with a = √5,
 * i.e. U(±1/√fan_in)) from one seeded Philox stream in module order, lora_B zero so the model starts
 * unchanged. Returns them as f32 variables named by PEFT's keys (`<module>.lora_A.weight`, `.lora_B.weight`).
 */
export function attachLora(model: Module, { rank, alpha = rank, targets = { attention: true }, seed = 0 }: AttachLoraOptions): LoraTraining {
  if (!Number.isInteger(rank) || rank < 1) throw new RangeError(`LoRA rank must be a positive integer, got ${rank}`);
  const rng = new Philox(seed);
  const result: LoraTraining = { names: [], variables: [], layouts: [], adapters: [] };
  for (const [path, host] of targetHosts(model, targets)) {
    const layouts = loraLayouts(host.lora, rank);
    const fanIn = host.lora.weight.torchShape.slice(1).reduce((a, b) => a * b, 1);
    const bound = 1 / Math.sqrt(fanIn);
    const down = variable(toOurLayout(layouts.down, Float32Array.from(rng.uniform(rank * fanIn), (u) => (2 * u - 1) * bound)));
    const up = variable(toOurLayout(layouts.up, new Float32Array(rank * host.lora.weight.torchShape[0])));
    const adapter = new LoraAdapter(path, host.lora, down, up, alpha);
    host.lora.adapters.push(adapter);
    result.adapters.push(adapter);
    result.names.push(`${path}.lora_A.weight`, `${path}.lora_B.weight`);
    result.variables.push(down, up);
    result.layouts.push(layouts.down, layouts.up);
  }
  if (result.adapters.length === 0) throw new Error('attachLora: no module of the model matches the targets');
  return result;
}

function variable({ data, shape }: { data: Float32Array; shape: number[] }): tf.Variable {
  const initial = tf.tensor(data, shape);
  const v = tf.variable(initial, true);
  initial.dispose(); // the variable keeps the storage alive
  return v;
}

/** The adapters as file layers (PyTorch layouts) for writeLora. */
export async function loraLayers(adapters: readonly LoraAdapter[], component: LoraComponent = 'unet'): Promise<LoraLayer[]> {
  const layers: LoraLayer[] = [];
  for (const a of adapters) {
    const { down, up } = a.layouts;
    layers.push({
      component,
      module: a.module,
      down: toTorchLayout(down, (await a.down.data()) as Float32Array),
      up: toTorchLayout(up, (await a.up.data()) as Float32Array),
      alpha: a.alpha,
    });
  }
  return layers;
}

/** Attaches a file's layers of `component` to `model` as frozen adapters (plain f32 tensors). */
export function loadLoraLayers(model: Module, layers: readonly LoraLayer[], multiplier = 1, component: LoraComponent = 'unet'): LoraAdapter[] {
  const byPath = hosts(model);
  const made: LoraAdapter[] = [];
  try {
    for (const layer of layers) {
      if (layer.component !== component) continue;
      const host = byPath.get(layer.module);
      if (!host) throw new Error(`${layer.module}: the ${component} has no linear or conv module there`);
      const layouts = loraLayouts(host.lora, layer.down.shape[0]);
      if (squeezed(layer.down.shape) !== squeezed(layouts.down.torchShape) || squeezed(layer.up.shape) !== squeezed(layouts.up.torchShape)) {
        const base = host.lora.weight.torchShape;
        throw new Error(`${layer.module}: down [${layer.down.shape}] and up [${layer.up.shape}] do not fit the weight [${base}]`);
      }
      // A 1×1 layer's [o, i] and [o, i, 1, 1] hold the same elements in the same order.
      const ours = (l: LayoutOf, data: Float32Array) => {
        const t = toOurLayout(l, data);
        return tf.tensor(t.data, t.shape);
      };
      const down = ours(layouts.down, layer.down.data);
      const up = ours(layouts.up, layer.up.data);
      const adapter = new LoraAdapter(layer.module, host.lora, down, up, layer.alpha, multiplier);
      host.lora.adapters.push(adapter);
      made.push(adapter);
    }
  } catch (e) {
    detachLora(made);
    throw e;
  }
  return made;
}

/** Removes adapters from their modules and frees them (unmerging first where they are merged). */
export function detachLora(adapters: readonly LoraAdapter[]): void {
  unmergeLora(adapters.filter((a) => a.merged));
  for (const a of adapters) {
    const list = a.slot.adapters;
    const i = list.indexOf(a);
    if (i < 0) continue;
    list.splice(i, 1);
    tf.dispose([a.down, a.up]);
  }
}

/**
 * Folds adapters into their base weights: W + Σ scale · down · up in our layout ([in, out] / HWIO), computed in
 * f32 and re-packed when the weight is f16. The original weight is kept so unmergeLora restores it exactly.
 */
export async function mergeLora(adapters: readonly LoraAdapter[]): Promise<void> {
  for (const [slot, list] of bySlot(adapters.filter((a) => !a.merged))) {
    const param = slot.weight;
    const current = param.weight;
    const merged = tf.tidy(() => {
      let w = asTensor(current);
      for (const a of list) {
        const rank = a.rank;
        const product = tf.matMul(tf.reshape(a.down, [-1, rank]), tf.reshape(a.up, [rank, -1]));
        w = tf.add(w, tf.mul(tf.reshape(product, w.shape), a.scale));
      }
      return w;
    });
    let value: Weight = merged;
    if (!(current instanceof tf.Tensor)) {
      value = packF16((await merged.data()) as Float32Array, current.shape);
      merged.dispose();
    }
    if (slot.original) disposeWeight(current);
    else slot.original = current;
    param.value = value;
    for (const a of list) a.merged = true;
  }
}

/**
 * Puts back the exact original weight of every module one of `adapters` is merged into. Other adapters merged
 * into the same module become unmerged too (they apply in the forward again), so the model's function is kept.
 */
export function unmergeLora(adapters: readonly LoraAdapter[]): void {
  for (const slot of bySlot(adapters).keys()) {
    if (!slot.original) continue;
    disposeWeight(slot.weight.weight);
    slot.weight.value = slot.original;
    slot.original = undefined;
    for (const a of slot.adapters) a.merged = false;
  }
}

function bySlot(adapters: readonly LoraAdapter[]): Map<LoraSlot, LoraAdapter[]> {
  const out = new Map<LoraSlot, LoraAdapter[]>();
  for (const a of adapters) out.set(a.slot, [...(out.get(a.slot) ?? []), a]);
  return out;
}

function disposeWeight(w: Weight): void {
  (w instanceof tf.Tensor ? w : w.packed).dispose();
}

function squeezed(shape: readonly number[]): string {
  return (shape.length === 4 && shape[2] === 1 && shape[3] === 1 ? shape.slice(0, 2) : shape).join(',');
}
