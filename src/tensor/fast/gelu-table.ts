/**
 * The piecewise-polynomial table behind the fast GELU: Q(a) = Phi(-a) = 0.5 erfc(a / sqrt 2)
 * for a = |x| in [0, GELU_AMAX), cut into GELU_PER_UNIT intervals per unit of a. On interval
 * I = floor(a · 16) the value is a degree-7 polynomial in u = (a·16 - I)·2 - 1 in [-1, 1]:
 *
 *   Q(a) ~ c0 + c1 u + ... + c7 u^7       (Horner from c7 down; 8 float64 per interval, 64 bytes)
 *
 * The coefficients are the Chebyshev interpolant of Q at 8 nodes per interval, computed
 * here once from ../math.ts erfc with + - * / only (the node abscissae are literals, not
 * Math.cos), so the table, and every GELU result, has the same bits on every engine.
 *
 * Accuracy of the table (measured over a dense sweep, test/tensor/fast/gelu.test.ts keeps it):
 * |Q_table - Q| / Q <= 2.1e-10 on [0, 13.3] (worst near the tail, where Q ~ e^(-a^2/2) turns
 * fastest inside one interval), <= 4e-15 on [0, 4]. Because Q enters gelu either as x·Q
 * (x < 0) or x·(1 - Q) with 1 - Q >= 1/2 (x >= 0), this relative error carries over to gelu
 * itself, far below float32's half-ulp 2^-24 = 6e-8: see gelu.ts for the resulting 1-ulp bound.
 */
import { erfc } from '../math.js';

export const GELU_PER_UNIT = 16;
export const GELU_DEG = 7;
/** Beyond this |x| the table is not consulted: Q(16) = 6e-58 is below every float32. */
export const GELU_AMAX = 16;
export const GELU_INTERVALS = GELU_AMAX * GELU_PER_UNIT;
/** Coefficients per interval (stride of the table in float64). */
export const GELU_STRIDE = GELU_DEG + 1;

/** cos((2i+1) pi / 16), i = 0..7: Chebyshev nodes of degree 8, as literals (no Math.cos). */
const NODES = [
  0.98078528040323043, 0.83146961230254524, 0.55557023301960218, 0.19509032201612826, -0.19509032201612826, -0.55557023301960218,
  -0.83146961230254524, -0.98078528040323043,
];

/** Q(a) = Phi(-a) = 0.5 erfc(a / sqrt 2) in float64 (the reference's own erfc). */
function upperTail(a: number): number {
  return 0.5 * erfc(a * Math.SQRT1_2);
}

/** Monomial coefficients of the Chebyshev polynomials T_0..T_n-1 (T[k][j] = coeff of u^j). */
function chebyshevMonomials(n: number): number[][] {
  const T: number[][] = [[1], [0, 1]];
  for (let k = 2; k < n; k++) {
    const t = new Array<number>(k + 1).fill(0);
    T[k - 1].forEach((c, j) => (t[j + 1] += 2 * c));
    T[k - 2].forEach((c, j) => (t[j] -= c));
    T.push(t);
  }
  return T;
}

let table: Float64Array | null = null;

/** The table, GELU_INTERVALS x GELU_STRIDE float64, interval-major (built on first use, ~2k erfc calls). */
export function geluTable(): Float64Array {
  if (table) return table;
  const n = GELU_STRIDE;
  const h = 1 / GELU_PER_UNIT;
  const T = chebyshevMonomials(n);
  // T_k at every node, by the three-term recurrence
  const Tk: number[][] = NODES.map((x) => {
    const v = [1, x];
    for (let k = 2; k < n; k++) v.push(2 * x * v[k - 1] - v[k - 2]);
    return v;
  });
  const out = new Float64Array(GELU_INTERVALS * n);
  for (let I = 0; I < GELU_INTERVALS; I++) {
    const mid = (I + 0.5) * h;
    const f = NODES.map((u) => upperTail(mid + (u * h) / 2));
    for (let k = 0; k < n; k++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += f[i] * Tk[i][k];
      const ck = ((k === 0 ? 1 : 2) * s) / n;
      T[k].forEach((c, j) => (out[I * n + j] += ck * c));
    }
  }
  table = out;
  return out;
}
