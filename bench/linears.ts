import type { WorldModel } from '../src/nn/world-model.js';
import type { IntegerLinear } from '../src/quant/integer-linear.js';

/** Back to float: free every installed integer Linear and clear the seam. */
export function resetLinears(wm: WorldModel): void {
  for (const l of wm.linears()) {
    (l.linear.impl as IntegerLinear | null)?.free();
    l.linear.impl = null;
  }
}
