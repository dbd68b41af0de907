// transformers' CLIPTextModel (the SD text encoder): token + position embeddings, pre-norm transformer layers
// with causal self-attention and a quick_gelu (SD 1) / gelu (SD 2) MLP, final LayerNorm. Parameter names are
// the state-dict keys (`text_model.encoder.layers.0.self_attn.q_proj.weight`).
import * as tf from '@tensorflow/tfjs';
import { Embedding } from '../nn/embedding';
import { LayerNorm } from '../nn/layer-norm';
import { Linear } from '../nn/linear';
import { Module } from '../nn/module';
import type { Ops } from '../ops/types';
import type { CLIPTextConfig } from './configs';

class CLIPTextEmbeddings extends Module {
  readonly token_embedding: Embedding;
  readonly position_embedding: Embedding;

  constructor(
    private readonly ops: Ops,
    c: CLIPTextConfig,
  ) {
    super();
    this.token_embedding = this.module('token_embedding', new Embedding(ops, c.vocab_size, c.hidden_size));
    this.position_embedding = this.module('position_embedding', new Embedding(ops, c.max_position_embeddings, c.hidden_size));
  }

  forward(ids: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      const positions = tf.range(0, ids.shape[1], 1, 'int32').reshape([1, ids.shape[1]]) as tf.Tensor2D;
      return this.ops.add(this.token_embedding.forward(ids), this.position_embedding.forward(positions)) as tf.Tensor3D;
    });
  }
}

class CLIPAttention extends Module {
  readonly k_proj: Linear;
  readonly v_proj: Linear;
  readonly q_proj: Linear;
  readonly out_proj: Linear;

  constructor(
    private readonly ops: Ops,
    private readonly c: CLIPTextConfig,
  ) {
    super();
    const d = c.hidden_size;
    this.k_proj = this.module('k_proj', new Linear(ops, d, d));
    this.v_proj = this.module('v_proj', new Linear(ops, d, d));
    this.q_proj = this.module('q_proj', new Linear(ops, d, d));
    this.out_proj = this.module('out_proj', new Linear(ops, d, d));
  }

  forward(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const q = this.q_proj.forward(x) as tf.Tensor3D;
      const k = this.k_proj.forward(x) as tf.Tensor3D;
      const v = this.v_proj.forward(x) as tf.Tensor3D;
      const o = this.ops.attention(q, k, v, { heads: this.c.num_attention_heads, causal: true });
      return this.out_proj.forward(o) as tf.Tensor3D;
    });
  }
}

class CLIPMLP extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;

  constructor(
    ops: Ops,
    private readonly c: CLIPTextConfig,
  ) {
    super();
    this.fc1 = this.module('fc1', new Linear(ops, c.hidden_size, c.intermediate_size));
    this.fc2 = this.module('fc2', new Linear(ops, c.intermediate_size, c.hidden_size));
  }

  forward(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => this.fc2.forward(this.fc1.forward(x, this.c.hidden_act)) as tf.Tensor3D);
  }
}

class CLIPEncoderLayer extends Module {
  readonly self_attn: CLIPAttention;
  readonly layer_norm1: LayerNorm;
  readonly mlp: CLIPMLP;
  readonly layer_norm2: LayerNorm;

  constructor(
    private readonly ops: Ops,
    c: CLIPTextConfig,
  ) {
    super();
    this.self_attn = this.module('self_attn', new CLIPAttention(ops, c));
    this.layer_norm1 = this.module('layer_norm1', new LayerNorm(ops, c.hidden_size, c.layer_norm_eps));
    this.mlp = this.module('mlp', new CLIPMLP(ops, c));
    this.layer_norm2 = this.module('layer_norm2', new LayerNorm(ops, c.hidden_size, c.layer_norm_eps));
  }

  forward(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const h = this.ops.add(this.self_attn.forward(this.layer_norm1.forward(x)), x) as tf.Tensor3D;
      return this.ops.add(this.mlp.forward(this.layer_norm2.forward(h)), h) as tf.Tensor3D;
    });
  }
}

class CLIPTextTransformer extends Module {
  readonly embeddings: CLIPTextEmbeddings;
  readonly layers: CLIPEncoderLayer[];
  readonly final_layer_norm: LayerNorm;

  constructor(ops: Ops, c: CLIPTextConfig) {
    super();
    this.embeddings = this.module('embeddings', new CLIPTextEmbeddings(ops, c));
    // transformers nests the layers in an `encoder` module without parameters of its own.
    this.layers = this.list('encoder.layers', Array.from({ length: c.num_hidden_layers }, () => new CLIPEncoderLayer(ops, c)));
    this.final_layer_norm = this.module('final_layer_norm', new LayerNorm(ops, c.hidden_size, c.layer_norm_eps));
  }
}

export interface CLIPTextOutput {
  /** After the final LayerNorm: what SD 1.x and 2.x pipelines condition on. [B, L, hidden] */
  lastHiddenState: tf.Tensor3D;
  /** hidden_states[-2]: the input of the last layer, without the final LayerNorm ("clip skip"). */
  penultimateHiddenState: tf.Tensor3D;
}

export class CLIPTextModel extends Module {
  readonly text_model: CLIPTextTransformer;

  constructor(
    readonly config: CLIPTextConfig,
    readonly ops: Ops,
  ) {
    super();
    this.text_model = this.module('text_model', new CLIPTextTransformer(ops, config));
  }

  /** ids [B, L] int32 (L ≤ max_position_embeddings). No padding mask: SD pipelines pass none. */
  forward(ids: tf.Tensor2D): CLIPTextOutput {
    const { max_position_embeddings: maxLen } = this.config;
    if (ids.shape[1] > maxLen) throw new Error(`text encoder: ${ids.shape[1]} tokens, at most ${maxLen}`);
    const tm = this.text_model;
    let h = tm.embeddings.forward(ids);
    let penultimate = h;
    for (const layer of tm.layers) {
      const next = layer.forward(h);
      if (penultimate !== h) penultimate.dispose();
      penultimate = h;
      h = next;
    }
    const lastHiddenState = tm.final_layer_norm.forward(h);
    if (penultimate !== h) h.dispose();
    return { lastHiddenState, penultimateHiddenState: penultimate };
  }
}
