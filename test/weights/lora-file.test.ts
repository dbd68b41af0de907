// LoRA files: kohya and PEFT forms of the same layers read back identically; bad files are named errors.
import { describe, expect, it } from 'vitest';
import { blobFile } from '../../src/io/file-source';
import { nodeDirectory } from '../../src/io/node-file-source';
import { openDiffusersFolder } from '../../src/weights/diffusers-folder';
import { modulePaths, readLora, writeLora, type LoraLayer } from '../../src/weights/lora-file';
import { writeSafetensors } from '../../src/weights/safetensors-writer';
import { random } from '../reference/cpu';

async function unetModules(): Promise<string[]> {
  const folder = await openDiffusersFolder(await nodeDirectory('test/fixtures/golden/tiny-sd15/model'));
  return modulePaths((await folder.component('unet')).weights.names());
}

function layer(module: string, inDim: number, outDim: number, rank: number, seed: number, alpha = 4): LoraLayer {
  return {
    component: 'unet',
    module,
    down: { shape: [rank, inDim], data: Float32Array.from(random([rank * inDim], seed).data) },
    up: { shape: [outDim, rank], data: Float32Array.from(random([outDim * rank], seed + 1).data) },
    alpha,
  };
}

describe('LoRA files', () => {
  it('reads kohya and PEFT writes of the same layers to identical layers', async () => {
    const modules = await unetModules();
    const q = 'down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q';
    const out = 'up_blocks.1.attentions.2.transformer_blocks.0.attn2.to_out.0';
    expect(modules).toContain(q);
    expect(modules).toContain(out);
    const layers = [layer(q, 32, 32, 4, 1), layer(out, 32, 32, 4, 3)].sort((a, b) => (a.module < b.module ? -1 : 1));
    for (const format of ['kohya', 'peft'] as const) {
      const blob = writeLora(layers, format, { note: 'test' });
      const back = await readLora(blobFile(blob, `lora.${format}.safetensors`), { unet: modules });
      expect(back.format).toBe(format);
      expect(back.metadata.note).toBe('test');
      expect(back.layers).toEqual(layers);
    }
  });

  it('reads the older diffusers attention-processor keys', async () => {
    const modules = await unetModules();
    const l = layer('mid_block.attentions.0.transformer_blocks.0.attn2.to_out.0', 32, 32, 2, 5, 2);
    const blob = writeSafetensors([
      { name: 'mid_block.attentions.0.transformer_blocks.0.attn2.processor.to_out_lora.down.weight', dtype: 'F32', shape: l.down.shape, data: l.down.data },
      { name: 'mid_block.attentions.0.transformer_blocks.0.attn2.processor.to_out_lora.up.weight', dtype: 'F32', shape: l.up.shape, data: l.up.data },
    ]);
    const back = await readLora(blobFile(blob, 'old.safetensors'), { unet: modules });
    expect(back.format).toBe('diffusers-attn-procs');
    expect(back.layers).toEqual([l]);
  });

  it('names the key when a layer targets no module, or lacks its up weight', async () => {
    const modules = await unetModules();
    const bad = writeLora([layer('down_blocks.9.attentions.0.proj_in', 8, 8, 2, 7)], 'kohya');
    await expect(readLora(blobFile(bad, 'bad.safetensors'), { unet: modules })).rejects.toThrow(/bad\.safetensors: "lora_unet_down_blocks_9_attentions_0_proj_in\.(alpha|lora_down\.weight|lora_up\.weight)" names no module/);
    const l = layer('down_blocks.0.attentions.0.proj_in', 32, 32, 2, 9);
    const half = writeSafetensors([{ name: 'lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight', dtype: 'F32', shape: l.down.shape, data: l.down.data }]);
    await expect(readLora(blobFile(half, 'half.safetensors'), { unet: modules })).rejects.toThrow(/only one of its down\/up/);
    const none = writeSafetensors([{ name: 'conv_in.weight', dtype: 'F32', shape: [1], data: Float32Array.of(1) }]);
    await expect(readLora(blobFile(none, 'none.safetensors'), { unet: modules })).rejects.toThrow(/no LoRA weights found/);
  });
});
