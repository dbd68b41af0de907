// Prompt styles of the reference stencil app: the base model is steered towards silhouettes by words and a
// negative prompt; a fine-tuned checkpoint already draws sketches, so it gets its caption template alone.
export type PromptStyle = 'stencil' | 'sketch' | 'none';

export const STENCIL_SUFFIX = 'black silhouette, high contrast, simple stencil design, centered in frame, complete object visible, isolated subject';
export const STENCIL_NEGATIVE = 'color, colorful, photograph, realistic, detailed, complex';
export const DEFAULT_CAPTION_TEMPLATE = 'sketch of {name}';

export interface StyledPrompt {
  style: PromptStyle;
  prompt: string;
  negative: string;
}

export interface StyleContext {
  /** Whether the weights are a fine-tuned checkpoint (metadata "fine-tuned: true"). */
  fineTuned: boolean;
  /** The checkpoint's caption template, "sketch of {name}" by default. */
  captionTemplate?: string;
}

/** 'auto' picks sketch for fine-tuned checkpoints and stencil for base models. */
export function resolveStyle(style: PromptStyle | 'auto', ctx: StyleContext): PromptStyle {
  return style === 'auto' ? (ctx.fineTuned ? 'sketch' : 'stencil') : style;
}

/** Fills a caption template; a prompt that already starts with the template's prefix is not doubled. */
export function applyTemplate(template: string, name: string): string {
  if (!template.includes('{name}')) throw new Error(`caption template "${template}" has no {name}`);
  const prefix = template.slice(0, template.indexOf('{name}'));
  const trimmed = name.trim();
  if (prefix && trimmed.toLowerCase().startsWith(prefix.toLowerCase())) return trimmed;
  return template.replace('{name}', trimmed);
}

export function stylePrompt(prompt: string, negative: string | undefined, style: PromptStyle | 'auto', ctx: StyleContext): StyledPrompt {
  const resolved = resolveStyle(style, ctx);
  const trimmed = prompt.trim();
  switch (resolved) {
    case 'stencil':
      return {
        style: resolved,
        prompt: trimmed ? `${trimmed}, ${STENCIL_SUFFIX}` : STENCIL_SUFFIX,
        negative: negative ?? STENCIL_NEGATIVE,
      };
    case 'sketch':
      return {
        style: resolved,
        prompt: trimmed ? applyTemplate(ctx.captionTemplate ?? DEFAULT_CAPTION_TEMPLATE, trimmed) : '',
        negative: negative ?? '',
      };
    case 'none':
      return { style: resolved, prompt: trimmed, negative: negative ?? '' };
  }
}
