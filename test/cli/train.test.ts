// `train` end to end in a child process (its own Dawn device): a drawn sketch folder, two steps at 32 px,
// checkpoints with the diffusers unet/ export and log.csv; a run resumed from its checkpoint reproduces
// the uninterrupted run's next loss exactly; bad input exits 2 with the reason.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { nodeDirectory, nodeFile } from '../../src/io/node-file-source';
import { parseUNetConfig } from '../../src/models/configs';
import { openDiffusersComponent } from '../../src/weights/diffusers-folder';
import { openSingleFile } from '../../src/weights/single-file';
import { drawSketchFolder } from '../fine-tune/sketch-folder';

const run = promisify(execFile);
const MODEL = 'test/fixtures/golden/tiny-sd15/model';

async function stencil(args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    const r = await run('npx', ['tsx', 'src/cli/main.ts', ...args], { maxBuffer: 1 << 24 });
    return { code: 0, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stderr: string };
    return { code: err.code, stderr: err.stderr };
  }
}

const losses = (out: string) => readFileSync(join(out, 'log.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',')[1]);

describe('stencil train', () => {
  const data = drawSketchFolder(['circle', 'bar'], 2);
  const common = ['--model', MODEL, '--data', data, '--resolution', '32', '--accum', '1', '--precision', 'f32', '--lr', '1e-3'];

  it('trains, checkpoints with a diffusers unet/ export, and resumes exactly', async () => {
    const straight = mkdtempSync(join(tmpdir(), 'train-a-'));
    const a = await stencil(['train', ...common, '--out', straight, '--steps', '2', '--checkpoint-every', '1', '--validation-every', '2', '--validation-steps', '2']);
    expect(a.code, a.stderr).toBe(0);
    expect(losses(straight)).toHaveLength(2);
    expect(readFileSync(join(straight, 'validation', 'step-2-1.png')).subarray(1, 4).toString()).toBe('PNG');
    const unetDir = join(straight, 'checkpoint-2', 'unet');
    expect(existsSync(join(unetDir, 'diffusion_pytorch_model.safetensors'))).toBe(true);
    const unet = await openDiffusersComponent(await nodeDirectory(join(straight, 'checkpoint-2')), 'unet');
    parseUNetConfig(unet.config);
    expect(unet.weights.metadata.fine_tuned).toBe('true');
    expect(unet.weights.metadata.caption_template).toBe('sketch of {name}');

    // Exports load back to identical weights: a diffusers unet/ in f32, and a single file with the base VAE/text encoder.
    const exported = mkdtempSync(join(tmpdir(), 'export-'));
    const d = await stencil(['export', '--checkpoint', join(straight, 'checkpoint-2'), '--to', 'diffusers', '--dtype', 'f32', '--out', exported]);
    expect(d.code, d.stderr).toBe(0);
    const back = await openDiffusersComponent(await nodeDirectory(exported), 'unet');
    const single = join(exported, 'model.safetensors');
    const s = await stencil(['export', '--checkpoint', join(straight, 'checkpoint-2'), '--to', 'single-file', '--model', MODEL, '--dtype', 'f32', '--out', single]);
    expect(s.code, s.stderr).toBe(0);
    const file = await openSingleFile(await nodeFile(single, single));
    for (const name of unet.weights.names()) {
      const want = Array.from(await unet.weights.readF32(name));
      expect(Array.from(await back.weights.readF32(name)), name).toEqual(want);
      expect(Array.from(await file.components.unet.weights.readF32(name)), name).toEqual(want);
    }
    expect(file.components.unet.weights.metadata.fine_tuned).toBe('true');

    const split = mkdtempSync(join(tmpdir(), 'train-b-'));
    const b1 = await stencil(['train', ...common, '--out', split, '--steps', '1']);
    expect(b1.code, b1.stderr).toBe(0);
    const b2 = await stencil(['train', ...common, '--out', split, '--steps', '2', '--resume']);
    expect(b2.code, b2.stderr).toBe(0);
    expect(losses(split)).toEqual(losses(straight));
  }, 400_000);

  it('trains a LoRA whose file generate applies, and export converts to kohya keys', async () => {
    const out = mkdtempSync(join(tmpdir(), 'train-lora-'));
    const t = await stencil(['train', ...common, '--out', out, '--steps', '1', '--mode', 'lora', '--rank', '2', '--lora-targets', 'attention,ff', '--lr', '1e-2']);
    expect(t.code, t.stderr).toBe(0);
    const lora = join(out, 'checkpoint-1', 'lora.safetensors');
    const bytes = readFileSync(lora);
    const keys = Object.keys(JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString()));
    for (const module of ['attn1.to_q', 'attn2.to_out.0', 'ff.net.0.proj', 'ff.net.2']) expect(keys.some((k) => k.includes(`.${module}.lora_A.`)), module).toBe(true);
    expect(keys.some((k) => k.includes('.resnets.'))).toBe(false);
    const kohya = join(out, 'kohya.safetensors');
    const e = await stencil(['export', '--checkpoint', lora, '--to', 'kohya-lora', '--model', MODEL, '--out', kohya]);
    expect(e.code, e.stderr).toBe(0);
    const png = join(out, 'cat.png');
    const g = await stencil(['generate', '--model', MODEL, '--lora', `${kohya}:0.8`, '--prompt', 'sketch of a cat', '--steps', '2', '--width', '32', '--height', '32', '--precision', 'f32', '--out', png]);
    expect(g.code, g.stderr).toBe(0);
    expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
  }, 400_000);

  it('exports the dataset as an imagefolder with the matching accelerate command', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'scale-out-')), 'dataset');
    const r = await stencil(['train', '--model', MODEL, '--data', data, '--export-dataset', dir, '--mode', 'lora']);
    expect(r.code, r.stderr).toBe(0);
    const rows = readFileSync(join(dir, 'metadata.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rows).toHaveLength(4);
    expect(rows.map((x) => x.text).sort()).toEqual(['sketch of bar', 'sketch of bar', 'sketch of circle', 'sketch of circle']);
    expect(existsSync(join(dir, rows[0].file_name))).toBe(true);
    expect(readFileSync(join(dir, 'train.sh'), 'utf8')).toMatch(/accelerate launch --mixed_precision="fp16" train_text_to_image_lora\.py[\s\S]*--rank=4/);
  }, 120_000);

  it('exits 2 naming the problem for an empty data folder or a bad flag', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'empty-'));
    const r = await stencil(['train', '--model', MODEL, '--data', empty, '--out', join(empty, 'out')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/empty/);
    const bad = await stencil(['train', '--model', MODEL, '--data', data, '--out', empty, '--accum', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/accum must be a positive integer/);
    const target = await stencil(['train', '--model', MODEL, '--data', data, '--out', empty, '--mode', 'lora', '--lora-targets', 'attention,mlp']);
    expect(target.code).toBe(2);
    expect(target.stderr).toMatch(/--lora-targets: unknown target "mlp" \(choose from attention, ff, convs\)/);
  }, 120_000);
});
