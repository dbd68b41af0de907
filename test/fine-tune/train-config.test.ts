import { describe, expect, it } from 'vitest';
import { learningRate } from '../../src/pipelines/fine-tune/lr-schedule';
import { minSnrWeights } from '../../src/pipelines/fine-tune/min-snr';
import { accelerateCommand } from '../../src/pipelines/fine-tune/scale-out';
import { defaultTrainConfig, validateTrainConfig } from '../../src/pipelines/fine-tune/train-config';

describe('training settings', () => {
  it('defaults to the reference recipe', () => {
    const c = defaultTrainConfig();
    expect([c.batch, c.accum, c.epochs, c.lr, c.resolution, c.checkpointEvery, c.seed]).toEqual([1, 8, 1, 1e-6, 512, 500, 42]);
    expect(c.mixedPrecision && c.gradCheckpointing).toBe(true);
    expect(defaultTrainConfig('lora').lr).toBe(1e-4);
    validateTrainConfig(c);
    expect(() => validateTrainConfig({ ...c, accum: 0 })).toThrow(/accum must be a positive integer/);
    expect(() => validateTrainConfig({ ...c, resolution: 500 })).toThrow(/multiple of 8/);
    expect(() => validateTrainConfig({ ...c, captionTemplate: 'sketch' })).toThrow(/\{name\}/);
    const lora = defaultTrainConfig('lora');
    validateTrainConfig(lora);
    expect(() => validateTrainConfig({ ...lora, loraTargets: { attention: false, feedForward: false, convs: false } })).toThrow(/LoRA needs at least one target/);
    validateTrainConfig({ ...c, loraTargets: { attention: false, feedForward: false, convs: false } }); // full mode: targets unused
  });

  it('schedules the learning rate as diffusers get_scheduler', () => {
    expect(learningRate('constant', 1e-4, 7, 10, 100)).toBe(1e-4);
    expect(learningRate('constant-warmup', 1e-4, 0, 10, 100)).toBe(0);
    expect(learningRate('constant-warmup', 1e-4, 5, 10, 100)).toBeCloseTo(5e-5, 15);
    expect(learningRate('constant-warmup', 1e-4, 10, 10, 100)).toBe(1e-4);
    expect(learningRate('cosine', 1, 10, 10, 110)).toBe(1);
    expect(learningRate('cosine', 1, 60, 10, 110)).toBeCloseTo(0.5, 12);
    expect(learningRate('cosine', 1, 110, 10, 110)).toBeCloseTo(0, 12);
  });

  it('weights losses by min-SNR-γ', () => {
    const ac = Float32Array.of(0.9, 0.5, 0.1);
    const [w0, w1, w2] = minSnrWeights(ac, [0, 1, 2], 5, 'epsilon');
    expect(w0).toBeCloseTo(5 / (0.9 / 0.1), 5); // SNR 9 clipped to 5
    expect(w1).toBe(1); // SNR 1 below γ
    expect(w2).toBe(1);
    expect(minSnrWeights(ac, [1], 5, 'v_prediction')[0]).toBe(0.5);
  });

  it('writes the matching accelerate command', () => {
    const cmd = accelerateCommand({ ...defaultTrainConfig('lora'), steps: 1000 }, 'stable-diffusion-v1-5/stable-diffusion-v1-5', 'data', 'out');
    expect(cmd).toMatch(/^accelerate launch --mixed_precision="fp16" train_text_to_image_lora\.py/);
    for (const flag of ['--train_batch_size=1', '--gradient_accumulation_steps=8', '--learning_rate=0.0001', '--max_train_steps=1000', '--rank=4', '--seed=42', '--checkpointing_steps=500', '--gradient_checkpointing', '--resolution=512']) {
      expect(cmd).toContain(flag);
    }
  });
});
