/**
 * HTB keeps rates in bytes per second and `tc` prints them rounded: it moves
 * to the next unit (K, M, G, T; powers of 1000) when the value divides
 * evenly, and also, truncating, once the value has seven digits or more. So
 * a rate read back is compared with the desired rate printed the same way.
 */
const UNITS = ["", "K", "M", "G", "T"] as const;
const MULTIPLIER: Record<string, number> = { "": 1, K: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/** The text `tc` prints for a rate given to it as `<bitsPerSecond>bit`. */
export function tcRateText(bitsPerSecond: number): string {
  let value = Math.floor(bitsPerSecond / 8) * 8;
  let unit = 0;
  while (unit < UNITS.length - 1) {
    if (value < 1000) break;
    if (value % 1000 !== 0 && value < 1_000_000) break;
    value = Math.floor(value / 1000);
    unit++;
  }
  return `${value}${UNITS[unit]}bit`;
}

/** Bits per second from a rate as `tc` prints it (`69Mbit`, `34500Kbit`, `999992bit`). */
export function parseTcRate(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([KMGT]?)bit$/.exec(text);
  if (!match) throw new Error(`"${text}" is not a rate as tc prints it`);
  return Math.round(Number(match[1]) * MULTIPLIER[match[2]]);
}

/** Desired and actual rates are equal as far as `tc` can tell. */
export function sameTcRate(desiredBitsPerSecond: number, actualBitsPerSecond: number): boolean {
  return parseTcRate(tcRateText(desiredBitsPerSecond)) === actualBitsPerSecond;
}
