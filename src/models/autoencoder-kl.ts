// diffusers' AutoencoderKL: encoder -> quant_conv -> diagonal Gaussian (mean, std); post_quant_conv ->
// decoder. Optional tiling reproduces diffusers' tiled_encode / tiled_decode (overlapping tiles of
// sample_size pixels, linear blends across a quarter of a tile) so large images fit in memory.
import * as tf from '@tensorflow/tfjs';
import { Conv2d } from '../nn/conv2d';
import { Module } from '../nn/module';
import type { Ops } from '../ops/types';
import type { AutoencoderKLConfig } from './configs';
import { Decoder, Encoder } from './vae';

export interface LatentDistribution {
  /** [B, h, w, latent_channels] */
  mean: tf.Tensor4D;
  std: tf.Tensor4D;
}

export interface TilingOptions {
  /** Tile images larger than one tile; default false (diffusers' use_tiling). */
  tiled?: boolean;
  /** Tile size in pixels; default the config's sample_size (diffusers' tile_sample_min_size). */
  tileSize?: number;
}

const TILE_OVERLAP = 0.25;

export class AutoencoderKL extends Module {
  readonly encoder: Encoder;
  readonly decoder: Decoder;
  readonly quant_conv?: Conv2d;
  readonly post_quant_conv?: Conv2d;
  /** Pixels per latent along each axis. */
  readonly downFactor: number;

  constructor(
    readonly config: AutoencoderKLConfig,
    readonly ops: Ops,
  ) {
    super();
    const lc = config.latent_channels;
    this.encoder = this.module('encoder', new Encoder(ops, config));
    this.decoder = this.module('decoder', new Decoder(ops, config));
    if (config.use_quant_conv) this.quant_conv = this.module('quant_conv', new Conv2d(ops, 2 * lc, 2 * lc, { kernel: 1 }));
    if (config.use_post_quant_conv) this.post_quant_conv = this.module('post_quant_conv', new Conv2d(ops, lc, lc, { kernel: 1 }));
    this.downFactor = 2 ** (config.block_out_channels.length - 1);
  }

  /** image [B, H, W, in_channels] in [-1, 1] -> the latent distribution (unscaled: multiply by scaling_factor). */
  encode(image: tf.Tensor4D, options: TilingOptions = {}): LatentDistribution {
    const tile = options.tileSize ?? this.config.sample_size;
    const [, h, w] = image.shape;
    const moments =
      options.tiled && (h > tile || w > tile)
        ? this.tiled(image, tile, tile / this.downFactor, (x) => this.encodeMoments(x))
        : this.encodeMoments(image);
    return tf.tidy(() => {
      const [mean, logvar] = tf.split(moments, 2, 3) as [tf.Tensor4D, tf.Tensor4D];
      moments.dispose();
      // diffusers' DiagonalGaussianDistribution clamps logvar to [-30, 20].
      const std = tf.exp(tf.mul(tf.clipByValue(logvar, -30, 20), 0.5)) as tf.Tensor4D;
      return { mean, std };
    });
  }

  /** latents [B, h, w, latent_channels], already divided by scaling_factor -> image [B, H, W, out_channels]. */
  decode(latents: tf.Tensor4D, options: TilingOptions = {}): tf.Tensor4D {
    const tile = options.tileSize ?? this.config.sample_size;
    const latentTile = tile / this.downFactor;
    const [, h, w] = latents.shape;
    return options.tiled && (h > latentTile || w > latentTile)
      ? this.tiled(latents, latentTile, tile, (z) => this.decodeTile(z))
      : this.decodeTile(latents);
  }

  private encodeMoments(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const m = this.encoder.forward(x);
      return this.quant_conv ? this.quant_conv.forward(m) : m;
    });
  }

  private decodeTile(z: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.decoder.forward(this.post_quant_conv ? this.post_quant_conv.forward(z) : z));
  }

  /**
   * diffusers' tiling: input tiles of `inTile` every inTile·(1 − overlap), each mapped by `fn` to an output tile
   * of up to `outTile`; each tile blended in place with its already-blended upper and left neighbours over
   * outTile·overlap rows/columns, then cropped to outTile·(1 − overlap) and concatenated.
   */
  private tiled(x: tf.Tensor4D, inTile: number, outTile: number, fn: (t: tf.Tensor4D) => tf.Tensor4D): tf.Tensor4D {
    const [, h, w] = x.shape;
    const step = Math.floor(inTile * (1 - TILE_OVERLAP));
    const blend = Math.floor(outTile * TILE_OVERLAP);
    const limit = outTile - blend;
    const rows: tf.Tensor4D[][] = [];
    for (let i = 0; i < h; i += step) {
      const row: tf.Tensor4D[] = [];
      for (let j = 0; j < w; j += step) {
        row.push(tf.tidy(() => fn(tf.slice(x, [0, i, j, 0], [-1, Math.min(inTile, h - i), Math.min(inTile, w - j), -1]))));
      }
      rows.push(row);
    }
    for (let i = 0; i < rows.length; i++) {
      for (let j = 0; j < rows[i].length; j++) {
        let t = rows[i][j];
        if (i > 0) t = replace(t, blendEdge(rows[i - 1][j], t, blend, 1));
        if (j > 0) t = replace(t, blendEdge(rows[i][j - 1], t, blend, 2));
        rows[i][j] = t;
      }
    }
    return tf.tidy(() => {
      const cropped = rows.map((row) => tf.concat(row.map((t) => tf.slice(t, [0, 0, 0, 0], [-1, Math.min(limit, t.shape[1]), Math.min(limit, t.shape[2]), -1])), 2));
      for (const row of rows) for (const t of row) t.dispose();
      return tf.concat(cropped, 1) as tf.Tensor4D;
    });
  }
}

function replace(old: tf.Tensor4D, next: tf.Tensor4D): tf.Tensor4D {
  old.dispose();
  return next;
}

/** b with its first `extent` rows (axis 1) or columns (axis 2) faded in from a's last ones: diffusers' blend_v / blend_h. */
function blendEdge(a: tf.Tensor4D, b: tf.Tensor4D, extent: number, axis: 1 | 2): tf.Tensor4D {
  const e = Math.min(a.shape[axis], b.shape[axis], extent);
  if (e === 0) return b.clone();
  return tf.tidy(() => {
    const weights = tf.range(0, e, 1, 'float32').div(e);
    const wShape = axis === 1 ? [1, e, 1, 1] : [1, 1, e, 1];
    const wB = weights.reshape(wShape);
    const aEdge = axis === 1 ? tf.slice(a, [0, a.shape[1] - e, 0, 0], [-1, e, -1, -1]) : tf.slice(a, [0, 0, a.shape[2] - e, 0], [-1, -1, e, -1]);
    const bEdge = axis === 1 ? tf.slice(b, [0, 0, 0, 0], [-1, e, -1, -1]) : tf.slice(b, [0, 0, 0, 0], [-1, -1, e, -1]);
    const rest = axis === 1 ? tf.slice(b, [0, e, 0, 0], [-1, -1, -1, -1]) : tf.slice(b, [0, 0, e, 0], [-1, -1, -1, -1]);
    const mixed = tf.add(tf.mul(aEdge, tf.sub(1, wB)), tf.mul(bEdge, wB));
    return tf.concat([mixed, rest], axis) as tf.Tensor4D;
  });
}
