// `eval` on golden inputs reproduces golden outputs. Each run is a child process: the command starts its own
// engine, and one process holds one Dawn device.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { readNpy, toFloat32 } from '../../src/io/npy';
import { GOLDEN, expectedF32, modelDir, relativeError } from './golden';

const tmp = mkdtempSync(join(tmpdir(), 'eval-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const input = (name: string) => join(GOLDEN, 'tiny-sd15', 'expected', `${name}.npy`);
const output = (name: string) => toFloat32(readNpy(new Uint8Array(readFileSync(join(tmp, name)))));
function evalRun(args: string[]): { code: number | null; stderr: string } {
  const r = spawnSync('npx', ['tsx', join(__dirname, 'run-eval.ts'), ...args], { encoding: 'utf8' });
  return { code: r.status, stderr: r.stderr };
}

const model = ['--model', modelDir('tiny-sd15'), '--precision', 'f32'];

describe('eval on golden tiny SD 1.5', () => {
  test('text-encoder', async () => {
    expect(evalRun(['text-encoder', ...model, '--ids', input('text_input_ids'), '--out', join(tmp, 'h.npy'), '--out-penultimate', join(tmp, 'p.npy')]).code).toBe(0);
    expect(relativeError(output('h.npy'), expectedF32('tiny-sd15', 'text_last_hidden_state'))).toBeLessThan(1e-4);
    expect(relativeError(output('p.npy'), expectedF32('tiny-sd15', 'text_penultimate_hidden_state'))).toBeLessThan(1e-4);
  });

  test('unet with --timesteps', async () => {
    const args = ['unet', ...model, '--sample', input('unet_sample'), '--timesteps', input('unet_timestep_batch'), '--context', input('unet_encoder_hidden_states')];
    expect(evalRun([...args, '--out', join(tmp, 'eps.npy')]).code).toBe(0);
    expect(relativeError(output('eps.npy'), expectedF32('tiny-sd15', 'unet_out_tbatch'))).toBeLessThan(1e-4);
  });

  test('vae-encode and vae-decode', async () => {
    const enc = ['vae-encode', ...model, '--image', input('vae_encode_in'), '--out-mean', join(tmp, 'm.npy'), '--out-std', join(tmp, 's.npy')];
    expect(evalRun(enc).code).toBe(0);
    expect(relativeError(output('m.npy'), expectedF32('tiny-sd15', 'vae_encode_mean'))).toBeLessThan(1e-4);
    expect(relativeError(output('s.npy'), expectedF32('tiny-sd15', 'vae_encode_std'))).toBeLessThan(1e-4);
    expect(evalRun(['vae-decode', ...model, '--latents', input('vae_decode_in'), '--out', join(tmp, 'img.npy')]).code).toBe(0);
    expect(relativeError(output('img.npy'), expectedF32('tiny-sd15', 'vae_decode_out'))).toBeLessThan(1e-4);
  });

  test('bad input is a usage error naming the flag', async () => {
    const r = evalRun(['vae-decode', ...model, '--latents', input('vae_encode_in'), '--out', join(tmp, 'x.npy')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--latents: expected 4 channels (NCHW), got shape (1, 3, 32, 32)');
  });
});
