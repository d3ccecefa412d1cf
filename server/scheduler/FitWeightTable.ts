/** One task type: its CPU and memory, the slot of its GPU need and its weight. */
export interface WeightedType {
  readonly cpuMilli: number;
  readonly memoryMib: number;
  readonly need: number;
  readonly weight: number;
}

/** Table cells allowed before falling back to a scan (8 bytes each, so 16 MiB). */
const MAX_CELLS = 2_097_152;

/**
 * Lookup table for the summed weight, per GPU need, of the task types whose
 * CPU and memory fit given free amounts. fgd needs it once per scored
 * placement, so it costs O(log types + needs) instead of a scan. It stores a
 * 2-D prefix sum per need over the distinct CPU and memory values of the
 * types. A mix with too many distinct values for `MAX_CELLS` falls back to
 * scanning the types.
 */
export class FitWeightTable {
  private readonly cpuValues: number[];
  private readonly memoryValues: number[];
  /** Prefix sums indexed [need][cpu rank][memory rank]; undefined when scanning instead. */
  private readonly sums: Float64Array | undefined;

  constructor(
    private readonly types: readonly WeightedType[],
    private readonly needCount: number,
  ) {
    this.cpuValues = distinctSorted(types.map((type) => type.cpuMilli));
    this.memoryValues = distinctSorted(types.map((type) => type.memoryMib));
    const rows = this.cpuValues.length + 1;
    const columns = this.memoryValues.length + 1;
    if (needCount * rows * columns > MAX_CELLS) {
      this.sums = undefined;
      return;
    }

    const sums = new Float64Array(needCount * rows * columns);
    for (const type of types) {
      const row = countAtMost(this.cpuValues, type.cpuMilli);
      const column = countAtMost(this.memoryValues, type.memoryMib);
      sums[(type.need * rows + row) * columns + column]! += type.weight;
    }
    for (let need = 0; need < needCount; need++) {
      for (let row = 1; row < rows; row++) {
        for (let column = 1; column < columns; column++) {
          const cell = (need * rows + row) * columns + column;
          sums[cell] = sums[cell]! + sums[cell - columns]! + sums[cell - 1]! - sums[cell - columns - 1]!;
        }
      }
    }
    this.sums = sums;
  }

  /** Writes the fitting weight of each need into `out` (length at least the need count). */
  lookup(freeCpuMilli: number, freeMemoryMib: number, out: Float64Array): void {
    const sums = this.sums;
    if (sums === undefined) {
      out.fill(0);
      for (const type of this.types) {
        if (type.cpuMilli <= freeCpuMilli && type.memoryMib <= freeMemoryMib) out[type.need]! += type.weight;
      }
      return;
    }
    const rows = this.cpuValues.length + 1;
    const columns = this.memoryValues.length + 1;
    const row = countAtMost(this.cpuValues, freeCpuMilli);
    const column = countAtMost(this.memoryValues, freeMemoryMib);
    for (let need = 0; need < this.needCount; need++) out[need] = sums[(need * rows + row) * columns + column]!;
  }
}

function distinctSorted(values: readonly number[]): number[] {
  return [...new Set(values)].sort((left, right) => left - right);
}

/** Number of entries of an ascending array that are at most `value`. */
function countAtMost(sorted: readonly number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (sorted[middle]! <= value) low = middle + 1;
    else high = middle;
  }
  return low;
}
