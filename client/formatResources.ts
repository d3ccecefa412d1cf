/**
 * Human-readable resource amounts for tables and logs. The inputs are the
 * integer wire units (millicores, MiB, GPU thousandths). CPU and GPU amounts
 * are formatted exactly with integer arithmetic, and memory is rounded.
 */

/** Formats millicores as cores with one to three decimals: 4000 -> "4.0", 250 -> "0.25". */
export function formatCores(millicores: number): string {
  return formatThousandths(millicores, 1);
}

/** Formats millicores with a unit: 4000 -> "4.0 CPU". */
export function formatCpu(millicores: number): string {
  return `${formatCores(millicores)} CPU`;
}

/** Formats GPU thousandths as devices without padding: 2000 -> "2", 460 -> "0.46". */
export function formatGpuShare(milli: number): string {
  return formatThousandths(milli, 0);
}

const MIB_PER_GIB = 1024;
const MIB_PER_TIB = 1024 * 1024;

/**
 * Formats MiB in the largest binary unit that keeps the value at 1 or more,
 * with up to two decimals: 512 -> "512 MiB", 8192 -> "8 GiB", 1536 -> "1.5 GiB".
 */
export function formatMemory(mebibytes: number): string {
  const absolute = Math.abs(mebibytes);
  if (absolute >= MIB_PER_TIB) {
    return `${formatRatio(mebibytes, MIB_PER_TIB)} TiB`;
  }
  if (absolute >= MIB_PER_GIB) {
    return `${formatRatio(mebibytes, MIB_PER_GIB)} GiB`;
  }
  return `${mebibytes} MiB`;
}

/** Formats value / 1000 exactly, trimming trailing zeros below minDecimals. */
function formatThousandths(value: number, minDecimals: number): string {
  const sign = value < 0 ? '-' : '';
  const absolute = Math.abs(Math.trunc(value));
  const whole = Math.floor(absolute / 1000);
  let fraction = String(absolute % 1000).padStart(3, '0');
  while (fraction.length > minDecimals && fraction.endsWith('0')) {
    fraction = fraction.slice(0, -1);
  }
  return fraction.length === 0 ? `${sign}${whole}` : `${sign}${whole}.${fraction}`;
}

/** Formats value / divisor rounded to two decimals, trailing zeros trimmed. */
function formatRatio(value: number, divisor: number): string {
  return (value / divisor).toFixed(2).replace(/\.?0+$/, '');
}
