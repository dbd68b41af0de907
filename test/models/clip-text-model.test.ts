import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Engine } from '../../src/engine/engine';
import { loadCLIPTextModel } from '../../src/models/load';
import { startEngine } from '../engine-helpers';
import { expectedF32, goldenFolder, idsTensor, relativeError, type Family } from './golden';

let engine: Engine;
beforeAll(async () => {
  engine = await startEngine({ precision: 'f32' });
});
afterAll(() => engine?.dispose());

async function run(family: Family) {
  const folder = await goldenFolder(family);
  const model = await loadCLIPTextModel(await folder.component('text_encoder'), `${family}/text_encoder`);
  const ids = idsTensor(family, 'text_input_ids');
  const out = model.forward(ids);
  const last = (await engine.read(out.lastHiddenState)) as Float32Array;
  const penultimate = (await engine.read(out.penultimateHiddenState)) as Float32Array;
  tf.dispose([ids, out.lastHiddenState, out.penultimateHiddenState]);
  model.dispose();
  return { last, penultimate };
}

describe('CLIPTextModel against transformers', () => {
  test('tiny SD 1.5 (quick_gelu): last and penultimate hidden states', async () => {
    const before = tf.memory().numTensors;
    const { last, penultimate } = await run('tiny-sd15');
    const errLast = relativeError(last, expectedF32('tiny-sd15', 'text_last_hidden_state'));
    const errPen = relativeError(penultimate, expectedF32('tiny-sd15', 'text_penultimate_hidden_state'));
    console.log(`tiny-sd15 text encoder: last ${errLast.toExponential(2)}, penultimate ${errPen.toExponential(2)}`);
    expect(errLast).toBeLessThan(1e-4);
    expect(errPen).toBeLessThan(1e-4);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('tiny SD 2 (gelu): last hidden state', async () => {
    const { last } = await run('tiny-sd2');
    const err = relativeError(last, expectedF32('tiny-sd2', 'text_last_hidden_state'));
    console.log(`tiny-sd2 text encoder: last ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-4);
  });
});
