// Each distinct caption goes through the frozen text encoder once; its hidden states stay on the GPU.
import * as tf from '@tensorflow/tfjs';
import type { CLIPTextModel } from '../../models/clip-text-model';
import type { ClipTokenizer } from '../../tokenizer/clip-tokenizer';

export class CaptionCache {
  private readonly cache = new Map<string, tf.Tensor3D>();

  constructor(
    private readonly tokenizer: ClipTokenizer,
    private readonly textEncoder: CLIPTextModel,
  ) {}

  /** [1, 77, D] hidden states of the caption (owned by the cache). */
  get(caption: string): tf.Tensor3D {
    let hidden = this.cache.get(caption);
    if (!hidden) {
      const { ids } = this.tokenizer.encode(caption);
      // keep: get() is often called inside a caller's tidy, which must not free the cached states.
      hidden = tf.keep(tf.tidy(() => {
        const out = this.textEncoder.forward(tf.tensor2d(ids, [1, ids.length], 'int32'));
        out.penultimateHiddenState.dispose();
        return out.lastHiddenState;
      }));
      this.cache.set(caption, hidden);
    }
    return hidden;
  }

  get size(): number {
    return this.cache.size;
  }

  dispose(): void {
    tf.dispose([...this.cache.values()]);
    this.cache.clear();
  }
}
