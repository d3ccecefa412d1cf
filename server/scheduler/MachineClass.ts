import type { MachineSpec } from './types.ts';

/**
 * Everything about a machine except its id and allocations. Machines of one
 * class are interchangeable when their free resources are equal, which is
 * what lets `StateIndex` group them.
 */
export class MachineClass {
  readonly cpuMilli: number;
  readonly memoryMib: number;
  /** GPU model per device index. */
  readonly gpuModels: readonly string[];
  /** GPU memory per device index, MiB. */
  readonly gpuMemoryMib: readonly number[];
  /** Small id per device index; devices of equal model and memory share a kind. */
  readonly deviceKinds: readonly number[];
  readonly labels: Readonly<Record<string, string>>;
  readonly hasGpu: boolean;
  /** Machines of this class in the fleet, schedulable or not. */
  machineCount = 0;

  constructor(
    readonly id: number,
    readonly key: string,
    spec: MachineSpec,
  ) {
    const devices = [...spec.gpus].sort((left, right) => left.index - right.index);
    this.cpuMilli = spec.cpuMilli;
    this.memoryMib = spec.memoryMib;
    this.gpuModels = devices.map((device) => device.model);
    this.gpuMemoryMib = devices.map((device) => device.memoryMib);
    const kindByDevice = new Map<string, number>();
    this.deviceKinds = devices.map((device) => {
      const deviceKey = `${device.model}\u0000${device.memoryMib}`;
      let kind = kindByDevice.get(deviceKey);
      if (kind === undefined) {
        kind = kindByDevice.size;
        kindByDevice.set(deviceKey, kind);
      }
      return kind;
    });
    this.labels = { ...spec.labels };
    this.hasGpu = devices.length > 0;
  }

  get gpuCount(): number {
    return this.gpuModels.length;
  }

  /** Builds the key under which equal specs share a class. */
  static keyOf(spec: MachineSpec): string {
    const devices = [...spec.gpus]
      .sort((left, right) => left.index - right.index)
      .map((device) => [device.model, device.memoryMib]);
    // Sorted by key so equal label sets give equal class keys; keys are unique, so no tie needs breaking.
    const labels = Object.entries(spec.labels).sort(([left], [right]) => Number(left > right) - Number(left < right));
    return JSON.stringify([spec.cpuMilli, spec.memoryMib, devices, labels]);
  }
}
