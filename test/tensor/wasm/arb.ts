/**
 * Shape generators named by their relation to the tile (XNNPACK's k_lt/k_eq/k_gt/k_div):
 * dimAroundTile(t) draws from {1, t-1, t, t+1, 2t+1, 5t} (values < 1 dropped).
 */
import fc from 'fast-check';

export function aroundTile(t: number): number[] {
  return [...new Set([1, t - 1, t, t + 1, 2 * t + 1, 5 * t])].filter((v) => v >= 1);
}

export function dimAroundTile(t: number): fc.Arbitrary<number> {
  return fc.constantFrom(...aroundTile(t));
}

/** Relation of d to tile t, for titles and failure messages: "K = kc+1". */
export function relation(name: string, d: number, t: number): string {
  const tn = name === 'M' ? 'mr' : name === 'N' ? 'nr' : name === 'K' ? 'kc' : `t${name}`;
  if (d === 1) return `${name} = 1`;
  if (d === t) return `${name} = ${tn}`;
  if (d === t - 1) return `${name} = ${tn}-1`;
  if (d === t + 1) return `${name} = ${tn}+1`;
  if (d === 2 * t + 1) return `${name} = 2${tn}+1`;
  if (d === 5 * t) return `${name} = 5${tn}`;
  return `${name} = ${d}`;
}

/** The awkward sizes from the issue, used in one dim at a time. */
export const AWKWARD = [1, 3, 17, 403, 404, 1537] as const;
