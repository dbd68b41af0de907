import { describe, expect, it } from 'vitest';
import { parseAutoencoderKLConfig, parseCLIPTextConfig, parseUNetConfig } from '../../src/models/configs';
import { fitToMemory } from '../../src/pipelines/fine-tune/fit-memory';
import { defaultTrainConfig } from '../../src/pipelines/fine-tune/train-config';
import { SD15_TEXT_ENCODER_CONFIG, SD15_UNET_CONFIG, SD15_VAE_CONFIG } from '../../src/weights/standard-configs';

const configs = {
  textEncoder: parseCLIPTextConfig(SD15_TEXT_ENCODER_CONFIG),
  unet: parseUNetConfig(SD15_UNET_CONFIG),
  vae: parseAutoencoderKLConfig(SD15_VAE_CONFIG),
};
const GB = 2 ** 30;

describe('fitting a run to the GPU memory budget (SD 1.5)', () => {
  it('keeps the reference recipe where 24 GB fit it', () => {
    const r = fitToMemory(configs, defaultTrainConfig('full'), 24 * GB, 'f16');
    expect(r.messages).toEqual([]);
    expect(r.config.mode).toBe('full');
    expect(r.plannedBytes).toBeLessThan(24 * GB);
  });

  it('falls back to LoRA at the default 8 GB budget and says why', () => {
    const r = fitToMemory(configs, { ...defaultTrainConfig('full'), gradCheckpointing: false }, 8 * GB, 'f16');
    expect(r.config.mode).toBe('lora');
    expect(r.config.gradCheckpointing).toBe(true);
    expect(r.messages.join('\n')).toMatch(/gradient checkpointing on[\s\S]*switched from the full UNet to LoRA/);
    expect(r.plannedBytes).toBeLessThanOrEqual(8 * GB);
  });

  it('lowers the resolution when LoRA alone does not fit, and refuses a budget nothing fits', () => {
    const lora = fitToMemory(configs, defaultTrainConfig('lora'), 3.2 * GB, 'f16');
    expect(lora.config.resolution).toBeLessThan(512);
    expect(() => fitToMemory(configs, defaultTrainConfig('lora'), 1 * GB, 'f16')).toThrow(/over the 1\.0 GB GPU memory budget/);
    expect(() => fitToMemory(configs, defaultTrainConfig('lora'), 50 * 2 ** 20, 'f16')).toThrow(/over the 50\.0 MB GPU memory budget/);
  });
});
