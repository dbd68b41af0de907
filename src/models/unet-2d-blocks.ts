// The UNet's blocks, as diffusers' unet_2d_blocks.py builds them for SD 1.x / 2.x: CrossAttnDownBlock2D,
// DownBlock2D, UNetMidBlock2DCrossAttn, CrossAttnUpBlock2D, UpBlock2D. Down blocks return every output the
// up blocks concatenate back (diffusers' output_states); up blocks consume them from the end.
import * as tf from '@tensorflow/tfjs';
import { Downsample2D } from '../nn/downsample-2d';
import { Module } from '../nn/module';
import { ResnetBlock2D } from '../nn/resnet-block-2d';
import { Transformer2DModel } from '../nn/transformer-2d';
import { Upsample2D } from '../nn/upsample-2d';
import type { Ops } from '../ops/types';

/** What every block's resnets and transformers share. */
export interface BlockOptions {
  tembChannels: number;
  eps: number;
  groups: number;
  numLayers: number;
  /** Cross-attention blocks only. */
  transformerLayers: number;
  heads: number;
  crossAttentionDim: number;
  useLinearProjection: boolean;
  onlyCrossAttention: boolean;
}

function transformers(ops: Ops, channels: number, o: BlockOptions, count: number): Transformer2DModel[] {
  return Array.from(
    { length: count },
    () =>
      new Transformer2DModel(ops, channels, {
        heads: o.heads,
        dimHead: channels / o.heads,
        numLayers: o.transformerLayers,
        crossAttentionDim: o.crossAttentionDim,
        normNumGroups: o.groups,
        useLinearProjection: o.useLinearProjection,
        onlyCrossAttention: o.onlyCrossAttention,
      }),
  );
}

export interface DownBlockResult {
  hidden: tf.Tensor4D;
  /** Outputs kept for the skip connections; the last is `hidden`. */
  states: tf.Tensor4D[];
}

/** DownBlock2D, or with `crossAttention` CrossAttnDownBlock2D (the same plus a Transformer2DModel per resnet). */
export class DownBlock2D extends Module {
  readonly resnets: ResnetBlock2D[];
  readonly attentions: Transformer2DModel[];
  readonly downsamplers: Downsample2D[];

  constructor(
    ops: Ops,
    inChannels: number,
    outChannels: number,
    o: BlockOptions & { crossAttention: boolean; addDownsample: boolean; downsamplePadding: number },
  ) {
    super();
    this.resnets = this.list(
      'resnets',
      Array.from(
        { length: o.numLayers },
        (_, i) =>
          new ResnetBlock2D(ops, { inChannels: i === 0 ? inChannels : outChannels, outChannels, tembChannels: o.tembChannels, groups: o.groups, eps: o.eps }),
      ),
    );
    this.attentions = this.list('attentions', o.crossAttention ? transformers(ops, outChannels, o, o.numLayers) : []);
    this.downsamplers = this.list('downsamplers', o.addDownsample ? [new Downsample2D(ops, outChannels, o.downsamplePadding)] : []);
  }

  forward(x: tf.Tensor4D, tembAct: tf.Tensor2D, context: tf.Tensor3D): DownBlockResult {
    const states: tf.Tensor4D[] = [];
    let h = x;
    this.resnets.forEach((resnet, i) => {
      h = resnet.forward(h, tembAct);
      const attn = this.attentions[i];
      if (attn) {
        const r = h;
        h = attn.forward(r, context);
        r.dispose();
      }
      states.push(h);
    });
    for (const down of this.downsamplers) {
      h = down.forward(h);
      states.push(h);
    }
    return { hidden: h, states };
  }
}

export class UNetMidBlock2DCrossAttn extends Module {
  readonly resnets: ResnetBlock2D[];
  readonly attentions: Transformer2DModel[];

  constructor(ops: Ops, channels: number, o: BlockOptions & { outputScaleFactor: number }) {
    super();
    const resnet = () =>
      new ResnetBlock2D(ops, {
        inChannels: channels,
        outChannels: channels,
        tembChannels: o.tembChannels,
        groups: o.groups,
        eps: o.eps,
        outputScaleFactor: o.outputScaleFactor,
      });
    this.resnets = this.list('resnets', Array.from({ length: o.numLayers + 1 }, resnet));
    this.attentions = this.list('attentions', transformers(ops, channels, o, o.numLayers));
  }

  forward(x: tf.Tensor4D, tembAct: tf.Tensor2D, context: tf.Tensor3D): tf.Tensor4D {
    return tf.tidy(() => {
      let h = this.resnets[0].forward(x, tembAct);
      this.attentions.forEach((attn, i) => {
        h = this.resnets[i + 1].forward(attn.forward(h, context), tembAct);
      });
      return h;
    });
  }
}

/** UpBlock2D, or with `crossAttention` CrossAttnUpBlock2D (the same plus a Transformer2DModel per resnet). */
export class UpBlock2D extends Module {
  readonly resnets: ResnetBlock2D[];
  readonly attentions: Transformer2DModel[];
  readonly upsamplers: Upsample2D[];

  /** `inChannels`: width of the block's last skip; `prevOutputChannels`: width of the hidden state coming in. */
  constructor(
    private readonly ops: Ops,
    inChannels: number,
    outChannels: number,
    prevOutputChannels: number,
    o: BlockOptions & { crossAttention: boolean; addUpsample: boolean },
  ) {
    super();
    this.resnets = this.list(
      'resnets',
      Array.from({ length: o.numLayers }, (_, i) => {
        const skip = i === o.numLayers - 1 ? inChannels : outChannels;
        const input = i === 0 ? prevOutputChannels : outChannels;
        return new ResnetBlock2D(ops, { inChannels: input + skip, outChannels, tembChannels: o.tembChannels, groups: o.groups, eps: o.eps });
      }),
    );
    this.attentions = this.list('attentions', o.crossAttention ? transformers(ops, outChannels, o, o.numLayers) : []);
    this.upsamplers = this.list('upsamplers', o.addUpsample ? [new Upsample2D(ops, outChannels)] : []);
  }

  /** `skips`: this block's skip tensors in down-path order (consumed last first). */
  forward(x: tf.Tensor4D, skips: tf.Tensor4D[], tembAct: tf.Tensor2D, context: tf.Tensor3D, upsampleSize?: [number, number]): tf.Tensor4D {
    return tf.tidy(() => {
      let h = x;
      this.resnets.forEach((resnet, i) => {
        h = resnet.forward(this.ops.concatChannels(h, skips[skips.length - 1 - i]), tembAct);
        const attn = this.attentions[i];
        if (attn) h = attn.forward(h, context);
      });
      for (const up of this.upsamplers) h = up.forward(h, upsampleSize);
      return h;
    });
  }
}
