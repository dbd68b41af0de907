// Key names of CompVis/LDM single-file checkpoints <-> diffusers parameter names (research/checkpoint-keys.md),
// as pure functions over names. Block numbers depend on the architecture, so both directions take the layout.

export type Component = 'unet' | 'vae' | 'text_encoder';
/** SD 1.x ships transformers' CLIP under cond_stage_model.transformer; SD 2.x OpenCLIP under cond_stage_model.model. */
export type TextEncoderKind = 'clip' | 'openclip';

export interface LdmLayout {
  /** UNet resnets per down block (diffusers layers_per_block); up blocks hold one more. */
  layersPerBlock: number;
  /** Number of VAE decoder up blocks (LDM numbers them in reverse). */
  vaeUpBlocks: number;
  textEncoder: TextEncoderKind;
  /** Whether each UNet up block has attentions: it decides where LDM puts the upsampler (index 1 or 2). */
  unetUpBlockHasAttention: readonly boolean[];
}

/** One diffusers tensor's place in a single file. */
export interface LdmPlace {
  key: string;
  /** OpenCLIP keeps q, k, v fused in in_proj_{weight,bias}: which third (0 q, 1 k, 2 v). */
  part?: 0 | 1 | 2;
  /** VAE attention q/k/v/proj_out weights are 1×1 convs in LDM, linear in diffusers. */
  conv1x1?: boolean;
}

export const LDM_PREFIX: Record<Component | 'openclip', string> = {
  unet: 'model.diffusion_model.',
  vae: 'first_stage_model.',
  text_encoder: 'cond_stage_model.transformer.',
  openclip: 'cond_stage_model.model.',
};

const RESNET_LDM_TO_DIFFUSERS: [string, string][] = [
  ['in_layers.0.', 'norm1.'],
  ['in_layers.2.', 'conv1.'],
  ['emb_layers.1.', 'time_emb_proj.'],
  ['out_layers.0.', 'norm2.'],
  ['out_layers.3.', 'conv2.'],
  ['skip_connection.', 'conv_shortcut.'],
];
const UNET_TOP: [string, string][] = [
  ['time_embed.0.', 'time_embedding.linear_1.'],
  ['time_embed.2.', 'time_embedding.linear_2.'],
  ['input_blocks.0.0.', 'conv_in.'],
  ['out.0.', 'conv_norm_out.'],
  ['out.2.', 'conv_out.'],
];
const VAE_ATTENTION: [string, string][] = [
  ['norm.', 'group_norm.'],
  ['q.', 'to_q.'],
  ['k.', 'to_k.'],
  ['v.', 'to_v.'],
  ['proj_out.', 'to_out.0.'],
];
const OPENCLIP_TOP: [string, string][] = [
  ['positional_embedding', 'text_model.embeddings.position_embedding.weight'],
  ['token_embedding.weight', 'text_model.embeddings.token_embedding.weight'],
  ['ln_final.weight', 'text_model.final_layer_norm.weight'],
  ['ln_final.bias', 'text_model.final_layer_norm.bias'],
];
const OPENCLIP_LAYER: [string, string][] = [
  ['ln_1.', 'layer_norm1.'],
  ['ln_2.', 'layer_norm2.'],
  ['mlp.c_fc.', 'mlp.fc1.'],
  ['mlp.c_proj.', 'mlp.fc2.'],
  ['attn.out_proj.', 'self_attn.out_proj.'],
];
const QKV = ['q_proj', 'k_proj', 'v_proj'] as const;

/** Replaces the first matching prefix of `rest` (from → to), or returns undefined. */
function renamePrefix(rest: string, table: [string, string][], reverse = false): string | undefined {
  for (const [a, b] of table) {
    const [from, to] = reverse ? [b, a] : [a, b];
    if (rest.startsWith(from)) return to + rest.slice(from.length);
  }
  return undefined;
}

function resnet(rest: string, toDiffusers: boolean): string {
  return renamePrefix(rest, RESNET_LDM_TO_DIFFUSERS, !toDiffusers) ?? rest;
}

/**
 * The diffusers tensors a single-file key feeds (several for a fused OpenCLIP in_proj), or [] for keys that are
 * not weights of our three components (schedule buffers, EMA copies, position_ids, OpenCLIP's unused last layer...).
 */
export function ldmToDiffusers(key: string, layout: LdmLayout): { component: Component; name: string; place: LdmPlace }[] {
  const one = (component: Component, name: string | undefined, extra: Omit<LdmPlace, 'key'> = {}) =>
    name === undefined ? [] : [{ component, name, place: { key, ...extra } }];
  if (key.startsWith(LDM_PREFIX.unet)) return one('unet', unetToDiffusers(key.slice(LDM_PREFIX.unet.length), layout.layersPerBlock));
  if (key.startsWith(LDM_PREFIX.vae)) {
    const mapped = vaeToDiffusers(key.slice(LDM_PREFIX.vae.length), layout.vaeUpBlocks);
    return mapped ? one('vae', mapped.name, mapped.conv1x1 ? { conv1x1: true } : {}) : [];
  }
  if (key.startsWith(LDM_PREFIX.text_encoder)) {
    let rest = key.slice(LDM_PREFIX.text_encoder.length);
    // Early fine-tunes saved CLIP without the text_model level; AUTOMATIC1111 and others insert it.
    if (!rest.startsWith('text_model.')) rest = `text_model.${rest}`;
    return rest.endsWith('position_ids') ? [] : one('text_encoder', rest);
  }
  if (key.startsWith(LDM_PREFIX.openclip)) {
    const rest = key.slice(LDM_PREFIX.openclip.length);
    const top = OPENCLIP_TOP.find(([ldm]) => ldm === rest);
    if (top) return one('text_encoder', top[1]);
    const m = /^transformer\.resblocks\.(\d+)\.(.+)$/.exec(rest);
    // diffusers' SD 2 text encoder has 23 layers: OpenCLIP's 24th is unused (the penultimate layer conditions).
    if (!m || m[1] === '23') return [];
    const layer = `text_model.encoder.layers.${m[1]}.`;
    const fused = /^attn\.in_proj_(weight|bias)$/.exec(m[2]);
    if (fused) {
      return QKV.map((proj, part) => ({
        component: 'text_encoder' as const,
        name: `${layer}self_attn.${proj}.${fused[1]}`,
        place: { key, part: part as 0 | 1 | 2 },
      }));
    }
    const inner = renamePrefix(m[2], OPENCLIP_LAYER);
    return one('text_encoder', inner && layer + inner);
  }
  return [];
}

function unetToDiffusers(rest: string, L: number): string | undefined {
  const top = renamePrefix(rest, UNET_TOP);
  if (top) return top;
  let m = /^input_blocks\.(\d+)\.(\d+)\.(.+)$/.exec(rest);
  if (m) {
    const n = Number(m[1]) - 1;
    const [b, l, k, inner] = [Math.floor(n / (L + 1)), n % (L + 1), m[2], m[3]];
    if (k === '0' && inner.startsWith('op.')) return `down_blocks.${b}.downsamplers.0.conv.${inner.slice(3)}`;
    return k === '0' ? `down_blocks.${b}.resnets.${l}.${resnet(inner, true)}` : `down_blocks.${b}.attentions.${l}.${inner}`;
  }
  m = /^middle_block\.(\d)\.(.+)$/.exec(rest);
  if (m) {
    return m[1] === '1' ? `mid_block.attentions.0.${m[2]}` : `mid_block.resnets.${Number(m[1]) / 2}.${resnet(m[2], true)}`;
  }
  m = /^output_blocks\.(\d+)\.(\d+)\.(.+)$/.exec(rest);
  if (m) {
    const n = Number(m[1]);
    const [b, l, k, inner] = [Math.floor(n / (L + 1)), n % (L + 1), m[2], m[3]];
    // An attention never has a direct "conv" child, so a conv here is the upsampler (at index 1 or 2).
    if (k !== '0' && inner.startsWith('conv.')) return `up_blocks.${b}.upsamplers.0.${inner}`;
    return k === '0' ? `up_blocks.${b}.resnets.${l}.${resnet(inner, true)}` : `up_blocks.${b}.attentions.${l}.${inner}`;
  }
  return undefined;
}

function vaeToDiffusers(rest: string, upBlocks: number): { name: string; conv1x1?: boolean } | undefined {
  const norm = /^(encoder|decoder)\.norm_out\.(.+)$/.exec(rest);
  if (norm) return { name: `${norm[1]}.conv_norm_out.${norm[2]}` };
  if (/^(encoder|decoder)\.conv_(in|out)\.|^(post_)?quant_conv\./.test(rest)) return { name: rest };
  let m = /^(encoder|decoder)\.mid\.block_([12])\.(.+)$/.exec(rest);
  if (m) return { name: `${m[1]}.mid_block.resnets.${Number(m[2]) - 1}.${vaeResnet(m[3], true)}` };
  m = /^(encoder|decoder)\.mid\.attn_1\.(.+)$/.exec(rest);
  if (m) {
    const inner = renamePrefix(m[2], VAE_ATTENTION);
    if (!inner) return undefined;
    return { name: `${m[1]}.mid_block.attentions.0.${inner}`, conv1x1: !inner.startsWith('group_norm.') && inner.endsWith('.weight') };
  }
  m = /^encoder\.down\.(\d+)\.(block\.(\d+)|downsample)\.(.+)$/.exec(rest);
  if (m) {
    return m[3] !== undefined
      ? { name: `encoder.down_blocks.${m[1]}.resnets.${m[3]}.${vaeResnet(m[4], true)}` }
      : { name: `encoder.down_blocks.${m[1]}.downsamplers.0.${m[4]}` };
  }
  m = /^decoder\.up\.(\d+)\.(block\.(\d+)|upsample)\.(.+)$/.exec(rest);
  if (m) {
    const b = upBlocks - 1 - Number(m[1]);
    return m[3] !== undefined
      ? { name: `decoder.up_blocks.${b}.resnets.${m[3]}.${vaeResnet(m[4], true)}` }
      : { name: `decoder.up_blocks.${b}.upsamplers.0.${m[4]}` };
  }
  return undefined;
}

function vaeResnet(inner: string, toDiffusers: boolean): string {
  const [from, to] = toDiffusers ? ['nin_shortcut.', 'conv_shortcut.'] : ['conv_shortcut.', 'nin_shortcut.'];
  return inner.startsWith(from) ? to + inner.slice(from.length) : inner;
}

/** Where a diffusers tensor of a component goes in a single-file checkpoint (for export). */
export function diffusersToLdm(component: Component, name: string, layout: LdmLayout): LdmPlace {
  const fail = (): never => {
    throw new Error(`no single-file key for ${component} weight "${name}"`);
  };
  if (component === 'unet') return { key: LDM_PREFIX.unet + (unetToLdm(name, layout) ?? fail()) };
  if (component === 'vae') {
    const { key, conv1x1 } = vaeToLdm(name, layout.vaeUpBlocks) ?? fail();
    return conv1x1 ? { key: LDM_PREFIX.vae + key, conv1x1 } : { key: LDM_PREFIX.vae + key };
  }
  if (layout.textEncoder === 'clip') return { key: LDM_PREFIX.text_encoder + name };
  const top = OPENCLIP_TOP.find(([, d]) => d === name);
  if (top) return { key: LDM_PREFIX.openclip + top[0] };
  const m = /^text_model\.encoder\.layers\.(\d+)\.(.+)$/.exec(name) ?? fail();
  const block = `${LDM_PREFIX.openclip}transformer.resblocks.${m[1]}.`;
  const qkv = /^self_attn\.(q_proj|k_proj|v_proj)\.(weight|bias)$/.exec(m[2]);
  if (qkv) return { key: `${block}attn.in_proj_${qkv[2]}`, part: QKV.indexOf(qkv[1] as (typeof QKV)[number]) as 0 | 1 | 2 };
  return { key: block + (renamePrefix(m[2], OPENCLIP_LAYER, true) ?? fail()) };
}

function unetToLdm(name: string, layout: LdmLayout): string | undefined {
  const L = layout.layersPerBlock;
  const top = renamePrefix(name, UNET_TOP, true);
  if (top) return top;
  let m = /^down_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.+)$/.exec(name);
  if (m) {
    const n = Number(m[1]) * (L + 1) + Number(m[3]) + 1;
    return m[2] === 'resnets' ? `input_blocks.${n}.0.${resnet(m[4], false)}` : `input_blocks.${n}.1.${m[4]}`;
  }
  m = /^down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.+)$/.exec(name);
  if (m) return `input_blocks.${(Number(m[1]) + 1) * (L + 1)}.0.op.${m[2]}`;
  m = /^mid_block\.(resnets|attentions)\.(\d+)\.(.+)$/.exec(name);
  if (m) return m[1] === 'attentions' ? `middle_block.1.${m[3]}` : `middle_block.${Number(m[2]) * 2}.${resnet(m[3], false)}`;
  m = /^up_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.+)$/.exec(name);
  if (m) {
    const n = Number(m[1]) * (L + 1) + Number(m[3]);
    return m[2] === 'resnets' ? `output_blocks.${n}.0.${resnet(m[4], false)}` : `output_blocks.${n}.1.${m[4]}`;
  }
  m = /^up_blocks\.(\d+)\.upsamplers\.0\.(conv\..+)$/.exec(name);
  if (m) {
    const b = Number(m[1]);
    return `output_blocks.${b * (L + 1) + L}.${layout.unetUpBlockHasAttention[b] ? 2 : 1}.${m[2]}`;
  }
  return undefined;
}

function vaeToLdm(name: string, upBlocks: number): { key: string; conv1x1?: boolean } | undefined {
  const norm = /^(encoder|decoder)\.conv_norm_out\.(.+)$/.exec(name);
  if (norm) return { key: `${norm[1]}.norm_out.${norm[2]}` };
  if (/^(encoder|decoder)\.conv_(in|out)\.|^(post_)?quant_conv\./.test(name)) return { key: name };
  let m = /^(encoder|decoder)\.mid_block\.resnets\.(\d)\.(.+)$/.exec(name);
  if (m) return { key: `${m[1]}.mid.block_${Number(m[2]) + 1}.${vaeResnet(m[3], false)}` };
  m = /^(encoder|decoder)\.mid_block\.attentions\.0\.(.+)$/.exec(name);
  if (m) {
    const inner = renamePrefix(m[2], VAE_ATTENTION, true);
    if (!inner) return undefined;
    return { key: `${m[1]}.mid.attn_1.${inner}`, conv1x1: !inner.startsWith('norm.') && inner.endsWith('.weight') };
  }
  m = /^encoder\.down_blocks\.(\d+)\.(resnets\.(\d+)|downsamplers\.0)\.(.+)$/.exec(name);
  if (m) {
    return m[3] !== undefined
      ? { key: `encoder.down.${m[1]}.block.${m[3]}.${vaeResnet(m[4], false)}` }
      : { key: `encoder.down.${m[1]}.downsample.${m[4]}` };
  }
  m = /^decoder\.up_blocks\.(\d+)\.(resnets\.(\d+)|upsamplers\.0)\.(.+)$/.exec(name);
  if (m) {
    const k = upBlocks - 1 - Number(m[1]);
    return m[3] !== undefined
      ? { key: `decoder.up.${k}.block.${m[3]}.${vaeResnet(m[4], false)}` }
      : { key: `decoder.up.${k}.upsample.${m[4]}` };
  }
  return undefined;
}
