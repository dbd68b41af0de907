// The op interface served by our WGSL kernels: what the models run on. Each op's wrapper owns its shapes,
// chunking and dispatch (src/ops/<family>.ts, shaders/<family>.wgsl).
import { activation, add, geglu } from './activations';
import { attention } from './attention-grad';
import { conv2d } from './conv2d';
import { embedding, timestepEmbedding } from './embeddings';
import { groupNorm } from './group-norm';
import { layerNorm } from './layer-norm';
import { linear } from './linear';
import { concatChannels, upsampleNearest } from './resample';
import type { Ops } from './types';

export const kernelOps: Ops = {
  conv2d,
  linear,
  attention,
  groupNorm,
  layerNorm,
  activation,
  geglu,
  upsampleNearest,
  concatChannels,
  timestepEmbedding,
  embedding,
  add,
};
