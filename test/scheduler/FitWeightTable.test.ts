import { describe, expect, it } from 'vitest';
import { FitWeightTable } from '../../server/scheduler/FitWeightTable.ts';
import { createRandom } from '../../bench/scheduler/prng.ts';

describe('FitWeightTable', () => {
  it('matches a scan of the types', () => {
    const random = createRandom(11);
    for (let trial = 0; trial < 100; trial++) {
      const needCount = 1 + Math.floor(random() * 6);
      const types = Array.from({ length: 1 + Math.floor(random() * 40) }, () => ({
        cpuMilli: 100 * Math.floor(random() * 50),
        memoryMib: 64 * Math.floor(random() * 50),
        need: Math.floor(random() * needCount),
        weight: 1 + Math.floor(random() * 9),
      }));
      const table = new FitWeightTable(types, needCount);
      const weights = new Float64Array(needCount);
      for (let query = 0; query < 30; query++) {
        // Values between and on the type values, including below the smallest.
        const freeCpuMilli = 100 * Math.floor(random() * 55) - 50 * Math.floor(random() * 2);
        const freeMemoryMib = 64 * Math.floor(random() * 55) - Math.floor(random() * 2);
        table.lookup(freeCpuMilli, freeMemoryMib, weights);
        const expected = new Array<number>(needCount).fill(0);
        for (const type of types) {
          if (type.cpuMilli <= freeCpuMilli && type.memoryMib <= freeMemoryMib) expected[type.need]! += type.weight;
        }
        expect([...weights], `trial ${trial} query ${query}`).toEqual(expected);
      }
    }
  });
});
