// Learning-rate schedules as diffusers' get_scheduler (LambdaLR factors), evaluated at the 0-based index
// of the optimizer step about to be taken.
import type { LrScheduleKind } from './train-config';

export function learningRate(kind: LrScheduleKind, baseLr: number, step: number, warmup: number, totalSteps: number): number {
  const warm = step < warmup ? step / Math.max(1, warmup) : 1;
  switch (kind) {
    case 'constant':
      return baseLr;
    case 'constant-warmup':
      return baseLr * warm;
    case 'cosine': {
      if (step < warmup) return baseLr * warm;
      const progress = (step - warmup) / Math.max(1, totalSteps - warmup);
      return baseLr * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
    }
  }
}
