// The order training visits a dataset: a fresh seeded permutation every epoch and, drawn from the same
// Philox stream, a horizontal-flip coin per visit. Epoch e uses the words [2·n·e, 2·n·(e+1)) of the
// stream, so a cursor (epoch, position) saved as JSON restores the exact same sequence.

import { Philox } from '../random/philox';

export interface DataOrderState {
  /** Philox seed as a decimal string. */
  seed: string;
  size: number;
  epoch: number;
  /** Visits already made in this epoch. */
  position: number;
  flip: boolean;
}

export interface DataVisit {
  /** Index into the dataset's entries. */
  index: number;
  flip: boolean;
  epoch: number;
  /** Position of this visit in its epoch. */
  position: number;
}

export class DataOrder {
  private epoch: number;
  private position: number;
  private permutation = new Uint32Array(0);
  private flips = new Uint8Array(0);

  constructor(
    readonly size: number,
    private readonly seed: number | bigint | string,
    readonly flip: boolean,
    cursor: { epoch: number; position: number } = { epoch: 0, position: 0 },
  ) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`a data order needs at least one item, got ${size}`);
    const { epoch, position } = cursor;
    if (!Number.isInteger(epoch) || epoch < 0 || !Number.isInteger(position) || position < 0 || position > size) {
      throw new RangeError(`bad data cursor: epoch ${epoch}, position ${position} of ${size}`);
    }
    this.epoch = epoch;
    this.position = position;
    this.shuffle();
  }

  static fromState(state: DataOrderState): DataOrder {
    return new DataOrder(state.size, state.seed, state.flip, state);
  }

  state(): DataOrderState {
    return { seed: BigInt(this.seed).toString(), size: this.size, epoch: this.epoch, position: this.position, flip: this.flip };
  }

  next(): DataVisit {
    if (this.position === this.size) {
      this.epoch++;
      this.position = 0;
      this.shuffle();
    }
    const position = this.position++;
    return { index: this.permutation[position]!, flip: this.flip && this.flips[position] === 1, epoch: this.epoch, position };
  }

  private shuffle(): void {
    const n = this.size;
    const random = Philox.fromState({ seed: BigInt(this.seed).toString(), offset: 2 * n * this.epoch });
    const u = random.uniform(n);
    const coins = random.words(n);
    const permutation = new Uint32Array(n);
    for (let i = 0; i < n; i++) permutation[i] = i;
    // Fisher-Yates from the top; u[0] is unused so every epoch has the same word layout.
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(u[i]! * (i + 1));
      [permutation[i], permutation[j]] = [permutation[j]!, permutation[i]!];
    }
    this.permutation = permutation;
    this.flips = Uint8Array.from(coins, (w) => w >>> 31);
  }
}
