import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseAutoencoderKLConfig, parseCLIPTextConfig, parseUNetConfig } from '../../src/models/configs';
import { UnsupportedModelError } from '../../src/weights/architecture';
import { modelDir } from './golden';

const json = (family: 'tiny-sd15' | 'tiny-sd2', component: string) =>
  JSON.parse(readFileSync(join(modelDir(family), component, 'config.json'), 'utf8')) as Record<string, unknown>;

describe('UNet config', () => {
  test("attention_head_dim is diffusers' legacy head count, expanded per block", () => {
    expect(parseUNetConfig(json('tiny-sd15', 'unet')).num_attention_heads).toEqual([8, 8]);
    const sd2 = parseUNetConfig(json('tiny-sd2', 'unet'));
    expect(sd2.num_attention_heads).toEqual([2, 4]);
    expect(sd2.use_linear_projection).toBe(true);
    expect(sd2.time_embed_dim).toBe(128);
  });

  test("diffusers' defaults fill what config.json leaves out (SD 1.5's)", () => {
    const c = parseUNetConfig({ _class_name: 'UNet2DConditionModel', cross_attention_dim: 768 });
    expect(c.block_out_channels).toEqual([320, 640, 1280, 1280]);
    expect(c.down_block_types).toEqual(['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D']);
    expect(c.layers_per_block).toEqual([2, 2, 2, 2]);
    expect(c.cross_attention_dim).toEqual([768, 768, 768, 768]);
    expect(c.num_attention_heads).toEqual([8, 8, 8, 8]);
    expect(c.mid_block_type).toBe('UNetMidBlock2DCrossAttn');
  });

  test.each([
    [{ in_channels: 9 }, 'an inpainting UNet (in_channels 9'],
    [{ addition_embed_type: 'text_time' }, 'a Stable Diffusion XL UNet'],
    [{ class_embed_type: 'timestep' }, 'a class-conditioned UNet'],
    [{ down_block_types: ['SimpleCrossAttnDownBlock2D', 'DownBlock2D'] }, 'the down block type "SimpleCrossAttnDownBlock2D"'],
    [{ mid_block_type: 'UNetMidBlock2DSimpleCrossAttn' }, 'the mid block type "UNetMidBlock2DSimpleCrossAttn"'],
    [{ resnet_time_scale_shift: 'scale_shift' }, 'resnet_time_scale_shift "scale_shift"'],
    [{ time_cond_proj_dim: 256 }, 'time_cond_proj_dim'],
  ])('unsupported: %j', (patch, message) => {
    const run = () => parseUNetConfig({ ...json('tiny-sd15', 'unet'), ...patch }, 'model/unet/config.json');
    expect(run).toThrow(UnsupportedModelError);
    expect(run).toThrow(message);
    expect(run).toThrow('model/unet/config.json');
  });

  test.each([
    [{ block_out_channels: [32, 64, 64] }, '2 down_block_types but 3 block_out_channels'],
    [{ attention_head_dim: [2, 4, 8] }, '"attention_head_dim" has 3 entries but there are 2 down blocks'],
    [{ attention_head_dim: 5 }, 'block 0: 32 channels cannot be split into 5 heads'],
    [{ num_attention_heads: 8 }, '"num_attention_heads" cannot be set'],
    [{ layers_per_block: 'two' }, '"layers_per_block" must be a positive integer or a list of them'],
  ])('invalid: %j', (patch, message) => {
    expect(() => parseUNetConfig({ ...json('tiny-sd15', 'unet'), ...patch })).toThrow(message);
  });
});

describe('VAE and text encoder configs', () => {
  test('golden configs', () => {
    const vae = parseAutoencoderKLConfig(json('tiny-sd15', 'vae'));
    expect(vae.scaling_factor).toBe(0.18215);
    expect(vae.block_out_channels).toEqual([32, 64]);
    expect(parseCLIPTextConfig(json('tiny-sd15', 'text_encoder')).hidden_act).toBe('quick-gelu');
    expect(parseCLIPTextConfig(json('tiny-sd2', 'text_encoder')).hidden_act).toBe('gelu');
  });

  test('unsupported', () => {
    expect(() => parseAutoencoderKLConfig({ _class_name: 'AutoencoderTiny' })).toThrow('the class AutoencoderTiny (expected AutoencoderKL)');
    expect(() => parseCLIPTextConfig({ architectures: ['CLIPTextModelWithProjection'] })).toThrow("SDXL's second text encoder");
    expect(() => parseCLIPTextConfig({ hidden_act: 'relu' })).toThrow('hidden_act "relu"');
  });
});
