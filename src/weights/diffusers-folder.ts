// A diffusers pipeline folder: model_index.json naming the components, each in a subfolder with its
// config.json and weights (diffusers: diffusion_pytorch_model[.variant].safetensors, transformers:
// model[.variant].safetensors, either possibly sharded with a *.safetensors.index.json weight map).
import { readJson, type DirectorySource, type FileLike } from '../io/file-source';
import { checkComponentConfig, checkPipeline } from './architecture';
import { openSafetensors, type SafetensorsFile } from './safetensors';
import { weightSourceFromRefs, type TensorRef, type WeightSource } from './weight-source';

export interface DiffusersFolderOptions {
  /** Weight variants in order of preference; '' is the plain file. Default: ['', 'fp16']. */
  variants?: readonly string[];
}

export interface DiffusersComponent {
  /** Subfolder name ('unet'), or '' for a folder that is itself one component. */
  name: string;
  config: Record<string, unknown>;
  weights: WeightSource;
  /** The variant whose files were found ('' for the plain files). */
  variant: string;
  /** Paths of the weight files read, relative to the folder root. */
  files: string[];
}

export interface DiffusersFolder {
  source: DirectorySource;
  modelIndex: Record<string, unknown>;
  /** Components that model_index.json gives a class (null entries left out). */
  components: string[];
  /** config.json (or scheduler_config.json / tokenizer_config.json) of a component. */
  config(component: string): Promise<Record<string, unknown>>;
  component(name: string): Promise<DiffusersComponent>;
}

export class ModelFolderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelFolderError';
  }
}

const DEFAULT_VARIANTS = ['', 'fp16'];
const WEIGHT_BASENAMES = ['diffusion_pytorch_model', 'model'];
const CONFIG_NAMES = ['config.json', 'scheduler_config.json', 'tokenizer_config.json'];

export async function openDiffusersFolder(dir: DirectorySource, options: DiffusersFolderOptions = {}): Promise<DiffusersFolder> {
  const indexFile = await dir.file('model_index.json');
  if (!indexFile) throw new ModelFolderError(await notAModelMessage(dir));
  const modelIndex = await readJson<Record<string, unknown>>(indexFile);
  if (typeof modelIndex !== 'object' || modelIndex === null || Array.isArray(modelIndex)) {
    throw new ModelFolderError(`${dir.name}/model_index.json: not a JSON object`);
  }
  checkPipeline(modelIndex, `${dir.name}/model_index.json`);
  const components = Object.entries(modelIndex)
    .filter(([k, v]) => !k.startsWith('_') && Array.isArray(v) && v[1] !== null)
    .map(([k]) => k);
  const config = (component: string) => readComponentConfig(dir, component);
  return {
    source: dir,
    modelIndex,
    components,
    config,
    async component(name) {
      if (!components.includes(name)) {
        throw new ModelFolderError(`${dir.name}/model_index.json has no component "${name}" (it lists ${components.join(', ')})`);
      }
      return openDiffusersComponent(dir, name, options);
    },
  };
}

/** One component: a subfolder of a pipeline, or ('' as subfolder) a folder holding config.json + weights. */
export async function openDiffusersComponent(
  dir: DirectorySource,
  subfolder: string,
  options: DiffusersFolderOptions = {},
): Promise<DiffusersComponent> {
  const config = await readComponentConfig(dir, subfolder);
  checkComponentConfig(subfolder, config, `${dir.name}/${prefixOf(subfolder)}config.json`);
  for (const variant of options.variants ?? DEFAULT_VARIANTS) {
    for (const base of WEIGHT_BASENAMES) {
      const found = await openWeights(dir, subfolder, base, variant);
      if (found) {
        return { name: subfolder, config, variant, files: found.files, weights: found.weights };
      }
    }
  }
  throw new ModelFolderError(await missingWeightsMessage(dir, subfolder, options.variants ?? DEFAULT_VARIANTS));
}

function prefixOf(subfolder: string): string {
  return subfolder ? `${subfolder}/` : '';
}

async function readComponentConfig(dir: DirectorySource, subfolder: string): Promise<Record<string, unknown>> {
  const prefix = prefixOf(subfolder);
  for (const name of CONFIG_NAMES) {
    const file = await dir.file(prefix + name);
    if (file) return readJson<Record<string, unknown>>(file);
  }
  throw new ModelFolderError(`${dir.name}/${prefix}config.json is missing${subfolder ? ` (component "${subfolder}")` : ''}`);
}

async function openWeights(
  dir: DirectorySource,
  subfolder: string,
  base: string,
  variant: string,
): Promise<{ files: string[]; weights: WeightSource } | undefined> {
  const prefix = prefixOf(subfolder);
  const v = variant ? `.${variant}` : '';
  const single = await dir.file(`${prefix}${base}${v}.safetensors`);
  if (single) {
    const file = await openSafetensors(single);
    const refs = new Map<string, TensorRef>([...file.tensors.keys()].map((t) => [t, { file, tensor: t }]));
    return { files: [single.path], weights: weightSourceFromRefs(refs, file.metadata, single.path) };
  }
  // diffusers and transformers put the variant before the last dot of the index name; some repos put it before .safetensors.
  const indexNames = variant ? [`${base}.safetensors.index${v}.json`, `${base}${v}.safetensors.index.json`] : [`${base}.safetensors.index.json`];
  for (const indexName of indexNames) {
    const indexFile = await dir.file(prefix + indexName);
    if (indexFile) return openSharded(dir, prefix, indexFile);
  }
  return undefined;
}

async function openSharded(dir: DirectorySource, prefix: string, indexFile: FileLike): Promise<{ files: string[]; weights: WeightSource }> {
  const index = await readJson<{ weight_map?: Record<string, string> }>(indexFile);
  const map = index.weight_map;
  if (typeof map !== 'object' || map === null) throw new ModelFolderError(`${indexFile.path}: no "weight_map"`);
  const shards = new Map<string, SafetensorsFile>();
  for (const shardName of new Set(Object.values(map))) {
    const shard = await dir.file(prefix + shardName);
    if (!shard) throw new ModelFolderError(`${dir.name}/${prefix}${shardName} is missing (listed in ${indexFile.path})`);
    shards.set(shardName, await openSafetensors(shard));
  }
  const refs = new Map<string, TensorRef>();
  const metadata: Record<string, string> = {};
  for (const file of shards.values()) Object.assign(metadata, file.metadata);
  for (const [tensor, shardName] of Object.entries(map)) {
    const file = shards.get(shardName)!;
    if (!file.tensors.has(tensor)) throw new ModelFolderError(`${file.path}: has no tensor "${tensor}" (listed in ${indexFile.path})`);
    refs.set(tensor, { file, tensor });
  }
  return { files: [...shards.values()].map((s) => s.path), weights: weightSourceFromRefs(refs, metadata, indexFile.path) };
}

async function missingWeightsMessage(dir: DirectorySource, subfolder: string, variants: readonly string[]): Promise<string> {
  const prefix = prefixOf(subfolder);
  const expected = variants.map((v) => `${dir.name}/${prefix}diffusion_pytorch_model${v ? `.${v}` : ''}.safetensors`);
  const present = (await dir.files()).map((f) => f.path).filter((p) => p.startsWith(prefix) && !p.slice(prefix.length).includes('/'));
  const pickle = present.filter((p) => p.endsWith('.bin') || p.endsWith('.ckpt') || p.endsWith('.pt'));
  const hint = pickle.length
    ? `; found only PyTorch pickle weights (${pickle.join(', ')}), which cannot be read safely here: convert them to .safetensors`
    : '';
  return `missing weight file: ${expected.join(' or ')} (or model.safetensors, or a sharded *.safetensors.index.json)${hint}`;
}

async function notAModelMessage(dir: DirectorySource): Promise<string> {
  const files = (await dir.files()).map((f) => f.path);
  if (files.includes('config.json')) {
    return `${dir.name} holds a single component (config.json) but no model_index.json: open it as a component, not a pipeline`;
  }
  const single = files.filter((p) => p.endsWith('.safetensors') && !p.includes('/'));
  if (single.length) {
    return `${dir.name} is not a diffusers model folder (no model_index.json); it holds ${single.join(', ')}: open that file as a single-file checkpoint`;
  }
  return `${dir.name} is not a diffusers model folder: no model_index.json${files.length ? '' : ' (the folder is empty)'}`;
}
