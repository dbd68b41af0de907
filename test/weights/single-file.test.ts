import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { blobFile } from '../../src/io/file-source';
import { nodeDirectory, nodeFile } from '../../src/io/node-file-source';
import { openDiffusersFolder } from '../../src/weights/diffusers-folder';
import { diffusersToLdm, ldmToDiffusers, type LdmLayout } from '../../src/weights/ldm-keys';
import { exportSingleFile } from '../../src/weights/single-file-export';
import { openSafetensors } from '../../src/weights/safetensors';
import { writeSafetensors, type TensorToWrite } from '../../src/weights/safetensors-writer';
import { openSingleFile } from '../../src/weights/single-file';

const GOLDEN = join(__dirname, '../fixtures/golden');
const temp = mkdtemp(join(tmpdir(), 'single-file-'));
afterAll(async () => rm(await temp, { recursive: true, force: true }));

const SD15_LAYOUT: LdmLayout = { layersPerBlock: 2, vaeUpBlocks: 4, textEncoder: 'clip', unetUpBlockHasAttention: [false, true, true, true] };

describe('LDM key mapping (research/checkpoint-keys.md tables, SD 1.5 layout)', () => {
  it.each([
    ['unet', 'time_embedding.linear_1.weight', 'model.diffusion_model.time_embed.0.weight'],
    ['unet', 'down_blocks.1.resnets.0.conv_shortcut.weight', 'model.diffusion_model.input_blocks.4.0.skip_connection.weight'],
    ['unet', 'down_blocks.2.downsamplers.0.conv.bias', 'model.diffusion_model.input_blocks.9.0.op.bias'],
    ['unet', 'down_blocks.2.attentions.1.proj_in.weight', 'model.diffusion_model.input_blocks.8.1.proj_in.weight'],
    ['unet', 'mid_block.resnets.1.time_emb_proj.weight', 'model.diffusion_model.middle_block.2.emb_layers.1.weight'],
    ['unet', 'up_blocks.0.upsamplers.0.conv.weight', 'model.diffusion_model.output_blocks.2.1.conv.weight'],
    ['unet', 'up_blocks.2.upsamplers.0.conv.weight', 'model.diffusion_model.output_blocks.8.2.conv.weight'],
    ['unet', 'up_blocks.3.resnets.2.norm2.bias', 'model.diffusion_model.output_blocks.11.0.out_layers.0.bias'],
    ['vae', 'decoder.up_blocks.0.resnets.2.conv1.weight', 'first_stage_model.decoder.up.3.block.2.conv1.weight'],
    ['vae', 'decoder.up_blocks.2.resnets.0.conv_shortcut.bias', 'first_stage_model.decoder.up.1.block.0.nin_shortcut.bias'],
    ['vae', 'encoder.mid_block.attentions.0.to_out.0.bias', 'first_stage_model.encoder.mid.attn_1.proj_out.bias'],
    ['vae', 'encoder.conv_norm_out.weight', 'first_stage_model.encoder.norm_out.weight'],
    ['text_encoder', 'text_model.encoder.layers.3.mlp.fc1.weight', 'cond_stage_model.transformer.text_model.encoder.layers.3.mlp.fc1.weight'],
  ] as const)('%s %s <-> %s', (component, name, key) => {
    expect(diffusersToLdm(component, name, SD15_LAYOUT).key).toBe(key);
    expect(ldmToDiffusers(key, SD15_LAYOUT).map((t) => [t.component, t.name])).toEqual([[component, name]]);
  });

  it('marks VAE attention weights as 1×1 convs, splits OpenCLIP in_proj into q, k, v and ignores what diffusers ignores', () => {
    expect(diffusersToLdm('vae', 'decoder.mid_block.attentions.0.to_q.weight', SD15_LAYOUT)).toEqual({ key: 'first_stage_model.decoder.mid.attn_1.q.weight', conv1x1: true });
    const sd2 = { ...SD15_LAYOUT, textEncoder: 'openclip' as const };
    expect(ldmToDiffusers('cond_stage_model.model.transformer.resblocks.5.attn.in_proj_bias', sd2).map((t) => [t.name, t.place.part])).toEqual([
      ['text_model.encoder.layers.5.self_attn.q_proj.bias', 0],
      ['text_model.encoder.layers.5.self_attn.k_proj.bias', 1],
      ['text_model.encoder.layers.5.self_attn.v_proj.bias', 2],
    ]);
    expect(ldmToDiffusers('cond_stage_model.model.transformer.resblocks.23.ln_1.weight', sd2)).toEqual([]);
    expect(ldmToDiffusers('cond_stage_model.transformer.embeddings.token_embedding.weight', SD15_LAYOUT)[0].name).toBe('text_model.embeddings.token_embedding.weight');
    for (const key of ['alphas_cumprod', 'model_ema.decay', 'cond_stage_model.transformer.text_model.embeddings.position_ids']) {
      expect(ldmToDiffusers(key, SD15_LAYOUT)).toEqual([]);
    }
  });
});

describe.each([
  ['tiny-sd15', 'sd1', 'tiny-sd15.safetensors', 'epsilon'],
  ['tiny-sd2', 'sd2', 'tiny-sd2-768-v.safetensors', 'v_prediction'],
] as const)('single-file round trip of golden %s', (model, family, fileName, prediction) => {
  it('loads back every tensor of the folder, with the configs, through the LDM names', async () => {
    const folder = await openDiffusersFolder(await nodeDirectory(join(GOLDEN, model, 'model')));
    const components = {
      unet: await folder.component('unet'),
      vae: await folder.component('vae'),
      text_encoder: await folder.component('text_encoder'),
    };
    const blob = await exportSingleFile(components, { dtype: 'F32', metadata: { base: model } });
    const path = join(await temp, fileName);
    await writeFile(path, new Uint8Array(await blob.arrayBuffer()));

    const checkpoint = await openSingleFile(await nodeFile(path));
    expect(checkpoint.family).toBe(family);
    expect([checkpoint.predictionType, checkpoint.predictionTypeSource]).toEqual([prediction, prediction === 'epsilon' ? 'default' : 'file name']);
    expect(checkpoint.metadata.base).toBe(model);
    expect(checkpoint.ignored).toEqual([]);
    for (const c of ['unet', 'vae', 'text_encoder'] as const) {
      const loaded = checkpoint.components[c];
      const original = components[c].weights;
      expect(loaded.configSource).toBe('metadata');
      expect(loaded.config).toEqual(components[c].config);
      expect(loaded.weights.names().sort()).toEqual(original.names().sort());
      for (const name of original.names()) {
        expect({ name, shape: loaded.weights.shape(name) }).toEqual({ name, shape: original.shape(name) });
        expect(await loaded.weights.readF32(name)).toEqual(await original.readF32(name));
      }
    }
  });

  it('infers the architecture from shapes when the file carries no configs', async () => {
    const folder = await openDiffusersFolder(await nodeDirectory(join(GOLDEN, model, 'model')));
    const components = {
      unet: await folder.component('unet'),
      vae: await folder.component('vae'),
      text_encoder: await folder.component('text_encoder'),
    };
    const bare = await exportSingleFile(components, { dtype: 'F16', embedConfigs: false });
    const inferred = await openSingleFile(blobFile(bare, family === 'sd2' ? 'bare-768-v.safetensors' : 'bare.safetensors'));
    const unet = inferred.components.unet;
    expect(unet.configSource).toBe('inferred');
    const expected = components.unet.config;
    for (const key of ['block_out_channels', 'layers_per_block', 'down_block_types', 'up_block_types', 'cross_attention_dim', 'use_linear_projection', 'upcast_attention', 'in_channels', 'out_channels']) {
      expect(unet.config[key]).toEqual(expected[key]);
    }
    const vae = inferred.components.vae.config;
    for (const key of ['block_out_channels', 'layers_per_block', 'latent_channels', 'in_channels', 'out_channels']) expect(vae[key]).toEqual(components.vae.config[key]);
    const text = inferred.components.text_encoder.config;
    for (const key of ['hidden_size', 'intermediate_size', 'num_hidden_layers', 'vocab_size', 'hidden_act']) expect(text[key]).toEqual(components.text_encoder.config[key]);
  });
});

describe('single-file options and refusals', () => {
  it('uses the model_ema.* UNet copy only when asked, and takes the prediction type from the argument first', async () => {
    const folder = await openDiffusersFolder(await nodeDirectory(join(GOLDEN, 'tiny-sd15/model')));
    const components = { unet: await folder.component('unet'), vae: await folder.component('vae'), text_encoder: await folder.component('text_encoder') };
    const base = await openSafetensors(blobFile(await exportSingleFile(components, { dtype: 'F32' }), 'base.safetensors'));
    const tensors: TensorToWrite[] = [];
    for (const [key, info] of base.tensors) {
      const data = await base.readF32(key);
      tensors.push({ name: key, dtype: 'F32', shape: info.shape, data });
      if (key.startsWith('model.diffusion_model.')) {
        // LDM's EMA module stores model.diffusion_model.a.b as model_ema.diffusion_modelab.
        tensors.push({ name: `model_ema.${key.slice(6).replaceAll('.', '')}`, dtype: 'F32', shape: info.shape, data: data.map((v) => v + 1) });
      }
    }
    const file = blobFile(writeSafetensors(tensors, base.metadata), 'with-ema.safetensors');
    const plain = await openSingleFile(file);
    const ema = await openSingleFile(file, { ema: true, predictionType: 'v_prediction' });
    expect([plain.hasEma, plain.usedEma, ema.usedEma]).toEqual([true, false, true]);
    expect([ema.predictionType, ema.predictionTypeSource]).toEqual(['v_prediction', 'argument']);
    const original = await components.unet.weights.readF32('conv_in.weight');
    expect(await plain.components.unet.weights.readF32('conv_in.weight')).toEqual(original);
    expect(await ema.components.unet.weights.readF32('conv_in.weight')).toEqual(original.map((v) => v + 1));
    expect(plain.ignored.filter((k) => !k.startsWith('model_ema.'))).toEqual([]);
  });

  it.each([
    ['an inpainting UNet', 'model.diffusion_model.input_blocks.0.0.weight', [8, 9, 3, 3], /inpainting checkpoint \(UNet in_channels 9\)/],
    ['SDXL', 'conditioner.embedders.1.model.positional_embedding', [77, 8], /Stable Diffusion XL/],
    ['a diffusers UNet file', 'down_blocks.0.resnets.0.conv1.weight', [8, 8, 3, 3], /a single diffusers component/],
  ])('refuses %s, saying what it is', async (_, name, shape, message) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const file = blobFile(writeSafetensors([{ name, dtype: 'F16', shape, data: new Uint16Array(n) }]), 'odd.safetensors');
    await expect(openSingleFile(file)).rejects.toThrow(message);
  });
});
