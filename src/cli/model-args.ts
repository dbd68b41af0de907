// `--model` and `--checkpoint` as every command reads them: a diffusers folder or a single-file
// .safetensors checkpoint, plus an optional fine-tuned UNet.
import { stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from './args';
import { blobDirectory } from '../io/file-source';
import { nodeDirectory, nodeFile } from '../io/node-file-source';
import { loadPipelineFromFolder, loadPipelineFromSingleFile, type CheckpointSource, type LoadPipelineOptions, type StableDiffusionPipeline } from '../pipelines/load-pipeline';
import { ClipTokenizer } from '../tokenizer/clip-tokenizer';
import { openDiffusersFolder } from '../weights/diffusers-folder';
import { hubFile } from '../weights/hub';
import type { Family } from '../weights/infer-config';
import { nodeByteCache } from '../weights/node-cache';
import { openSingleFile } from '../weights/single-file';

// Single-file checkpoints carry no tokenizer: the family's hub repo provides it (downloaded once, cached).
const TOKENIZER_REPOS: Record<Family, string> = {
  sd1: 'stable-diffusion-v1-5/stable-diffusion-v1-5',
  sd2: 'stabilityai/stable-diffusion-2-1-base',
};
const TOKENIZER_FILES = ['vocab.json', 'merges.txt', 'tokenizer_config.json', 'special_tokens_map.json'];

export async function isDirectory(path: string, flag: string): Promise<boolean> {
  const s = await stat(path).catch(() => undefined);
  if (!s) throw new UsageError(`${flag} ${path}: no such folder or file`);
  return s.isDirectory();
}

async function hubTokenizer(family: Family): Promise<ClipTokenizer> {
  const cache = nodeByteCache(process.env.STENCIL_CACHE ?? join(homedir(), '.cache', 'stencil-diffusion'));
  const repo = TOKENIZER_REPOS[family];
  const entries: [string, Blob][] = [];
  for (const name of TOKENIZER_FILES) entries.push([`tokenizer/${name}`, await (await hubFile(repo, `tokenizer/${name}`, { cache })).blob()]);
  return ClipTokenizer.fromFolder(blobDirectory(repo, entries));
}

export async function loadPipelineArg(
  modelPath: string,
  checkpointPath: string | undefined,
  options: Omit<LoadPipelineOptions, 'checkpoint'> = {},
): Promise<StableDiffusionPipeline> {
  const checkpoint: CheckpointSource | undefined = checkpointPath
    ? (await isDirectory(checkpointPath, '--checkpoint'))
      ? { kind: 'folder', dir: await nodeDirectory(checkpointPath) }
      : { kind: 'file', file: await nodeFile(checkpointPath, checkpointPath) }
    : undefined;
  if (await isDirectory(modelPath, '--model')) return loadPipelineFromFolder(await nodeDirectory(modelPath), { ...options, checkpoint });
  return loadPipelineFromSingleFile(await nodeFile(modelPath, modelPath), hubTokenizer, { ...options, checkpoint });
}

/** The UNet's config.json as the model carries it (exports copy it verbatim). */
export async function unetConfigArg(modelPath: string): Promise<Record<string, unknown>> {
  if (await isDirectory(modelPath, '--model')) return (await openDiffusersFolder(await nodeDirectory(modelPath))).config('unet');
  return (await openSingleFile(await nodeFile(modelPath, modelPath))).components.unet.config;
}
