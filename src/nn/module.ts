// The module tree the models are built from: diffusers' nn.Module hierarchy, with parameters registered under
// diffusers' names so `namedParameters()` yields exactly the keys of a diffusers state dict.
import * as tf from '@tensorflow/tfjs';
import type { Weight } from '../ops/types';

/** How a PyTorch tensor maps to the layout our ops read (DESIGN decision 2). */
export type ParamLayout =
  /** Stored as is: norm scales, biases, embedding tables. */
  | 'as-is'
  /** PyTorch [out, in] (or a 1×1 conv's [out, in, 1, 1]) -> [in, out]. */
  | 'linear'
  /** PyTorch OIHW -> HWIO. */
  | 'conv';

export class Parameter {
  value: Weight | undefined;

  constructor(
    /** The shape diffusers' module has for this parameter (PyTorch layout). */
    readonly torchShape: readonly number[],
    readonly layout: ParamLayout,
  ) {}

  get weight(): Weight {
    if (!this.value) throw new Error('parameter used before its weights were loaded');
    return this.value;
  }

  dispose(): void {
    if (this.value) (this.value instanceof tf.Tensor ? this.value : this.value.packed).dispose();
    this.value = undefined;
  }
}

export abstract class Module {
  private readonly children: [string, Module | Parameter][] = [];

  protected param(name: string, torchShape: readonly number[], layout: ParamLayout): Parameter {
    const p = new Parameter(torchShape, layout);
    this.children.push([name, p]);
    return p;
  }

  protected module<M extends Module>(name: string, m: M): M {
    this.children.push([name, m]);
    return m;
  }

  /** An nn.ModuleList: items are named `${name}.${index}`. */
  protected list<M extends Module>(name: string, items: M[]): M[] {
    items.forEach((m, i) => this.children.push([`${name}.${i}`, m]));
    return items;
  }

  *namedParameters(prefix = ''): Generator<[string, Parameter]> {
    for (const [name, child] of this.children) {
      const full = prefix ? `${prefix}.${name}` : name;
      if (child instanceof Parameter) yield [full, child];
      else yield* child.namedParameters(full);
    }
  }

  /** Every submodule with its diffusers path, depth first (this module itself is '' ). */
  *namedModules(prefix = ''): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [name, child] of this.children) {
      if (child instanceof Module) yield* child.namedModules(prefix ? `${prefix}.${name}` : name);
    }
  }

  /** Frees every loaded parameter's GPU memory (and whatever a submodule holds besides, e.g. LoRA adapters). */
  dispose(): void {
    for (const [, child] of this.children) child.dispose();
  }
}
