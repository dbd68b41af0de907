// A new in-page run's settings as the worker fits them to the GPU memory budget (SD 1.5 configs): the
// page's changes over the reference recipe, checked first, then the fallbacks with what was changed.
import { describe, expect, it } from 'vitest';
import { parseAutoencoderKLConfig, parseCLIPTextConfig, parseUNetConfig } from '../../src/models/configs';
import { SD15_TEXT_ENCODER_CONFIG, SD15_UNET_CONFIG, SD15_VAE_CONFIG } from '../../src/weights/standard-configs';
import { newRunSetup } from '../../src/worker/training-setup';

const configs = {
  textEncoder: parseCLIPTextConfig(SD15_TEXT_ENCODER_CONFIG),
  unet: parseUNetConfig(SD15_UNET_CONFIG),
  vae: parseAutoencoderKLConfig(SD15_VAE_CONFIG),
};
const GB = 2 ** 30;
/** The page's reference recipe as it asks for it: full UNet, 512 px, no gradient checkpointing. */
const asked = { mode: 'full' as const, resolution: 512, gradCheckpointing: false, steps: 10, accum: 1, checkpointEvery: 5 };

describe('a new run fitted to the engine budget', () => {
  it('keeps the settings asked for when they fit (no budget set: Infinity)', () => {
    const r = newRunSetup(asked, configs, Infinity, 'f16');
    expect(r.messages).toEqual([]);
    expect(r.config).toMatchObject(asked);
    // The rest comes from the reference recipe of the mode.
    expect(r.config.lr).toBe(1e-6);
  });

  it('takes the fallbacks at the default 8 GB budget, keeping the other settings, and says what changed', () => {
    const r = newRunSetup(asked, configs, 8 * GB, 'f16');
    expect(r.config).toMatchObject({ mode: 'lora', gradCheckpointing: true, lr: 1e-4, resolution: 512, steps: 10, accum: 1, checkpointEvery: 5 });
    expect(r.messages).toHaveLength(2);
    expect(r.messages[0]).toMatch(/^turned gradient checkpointing on: the plan of [\d.]+ GB exceeded the 8\.0 GB budget/);
    expect(r.messages[1]).toMatch(/^switched from the full UNet to LoRA \(lr 1e-4\)/);
    expect(r.plannedBytes).toBeLessThanOrEqual(8 * GB);
  });

  it('checks the settings before fitting them, and refuses a budget nothing fits', () => {
    expect(() => newRunSetup({ ...asked, resolution: 500 }, configs, 8 * GB, 'f16')).toThrow(/resolution must be a multiple of 8/);
    expect(() => newRunSetup(asked, configs, 1 * GB, 'f16')).toThrow(/over the 1\.0 GB GPU memory budget/);
  });
});
