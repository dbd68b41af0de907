// For runs that outgrow one browser: the matching diffusers + accelerate command line (the reference
// recipe's own engine) for an exported imagefolder dataset.
import type { TrainConfig } from './train-config';

const SCHEDULER_NAMES = { constant: 'constant', 'constant-warmup': 'constant_with_warmup', cosine: 'cosine' } as const;

export function accelerateCommand(c: TrainConfig, model: string, dataDir: string, outputDir: string): string {
  const script = c.mode === 'lora' ? 'train_text_to_image_lora.py' : 'train_text_to_image.py';
  const args: string[] = [
    `--pretrained_model_name_or_path="${model}"`,
    `--train_data_dir="${dataDir}"`,
    '--caption_column="text"',
    `--resolution=${c.resolution}`,
    '--center_crop',
    ...(c.flip ? ['--random_flip'] : []),
    `--train_batch_size=${c.batch}`,
    `--gradient_accumulation_steps=${c.accum}`,
    ...(c.gradCheckpointing ? ['--gradient_checkpointing'] : []),
    c.steps !== undefined ? `--max_train_steps=${c.steps}` : `--num_train_epochs=${c.epochs}`,
    `--learning_rate=${c.lr}`,
    `--lr_scheduler="${SCHEDULER_NAMES[c.lrSchedule]}"`,
    `--lr_warmup_steps=${c.warmup}`,
    `--adam_beta1=${c.adam.beta1}`,
    `--adam_beta2=${c.adam.beta2}`,
    `--adam_weight_decay=${c.adam.weightDecay}`,
    `--adam_epsilon=${c.adam.eps}`,
    `--max_grad_norm=${c.maxGradNorm}`,
    ...(c.minSnrGamma > 0 ? [`--snr_gamma=${c.minSnrGamma}`] : []),
    ...(c.noiseOffset > 0 ? [`--noise_offset=${c.noiseOffset}`] : []),
    ...(c.mode === 'lora' ? [`--rank=${c.rank}`] : []),
    `--seed=${c.seed}`,
    `--checkpointing_steps=${c.checkpointEvery}`,
    `--checkpoints_total_limit=${c.keep}`,
    `--output_dir="${outputDir}"`,
  ];
  const precision = c.mixedPrecision ? 'fp16' : 'no';
  return `accelerate launch --mixed_precision="${precision}" ${script} \\\n  ${args.join(' \\\n  ')}`;
}
