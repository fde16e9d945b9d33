import { describe, expect, it } from 'vitest';
import { compactConfig } from '../../src/nn/compact.js';
import { saveWorldModel } from '../../src/nn/model-file.js';
import { initWeights } from '../../src/nn/weights.js';
import { WorldModel, worldModelSpec } from '../../src/nn/world-model.js';
import { CalibrationRecorder, applyResult, quantTargets, quantizeTargets } from '../../src/quant/model.js';
import { loadModel, saveQuantizedModel } from '../../src/quant/model-file.js';
import type { MethodName } from '../../src/quant/plan.js';
import { Rng } from '../../src/tensor/rng.js';

const cfg = compactConfig('tiny', { proprioDim: 2, numFrames: 2, imageSize: 32, patchSize: 8, dim: 16 });
const stats = { proprioMean: new Float32Array(2), proprioStd: Float32Array.of(1, 1), actionMean: new Float32Array(2), actionStd: Float32Array.of(1, 1) };
const fresh = (): WorldModel => new WorldModel(cfg, initWeights(worldModelSpec(cfg), new Rng(1)), stats);
const r = new Rng(2);
const obs = Array.from({ length: 4 }, () => ({ image: Uint8Array.from({ length: 32 * 32 * 3 }, () => r.int(256)), proprio: Float32Array.of(r.normal(), r.normal()) }));
const acts = Float32Array.from({ length: 8 * 3 * 10 }, () => r.normal());

/** Calibrate on encodes and rollouts of the float model (the planner's traffic in miniature). */
function calibrate(m: WorldModel): ReturnType<CalibrationRecorder['inputs']> {
  const rec = new CalibrationRecorder(m, 256, 0);
  rec.attach();
  for (const o of obs) m.rollout(m.encode(o), acts, 8, 3, 'last');
  rec.detach();
  return rec.inputs();
}

describe('quantizing a WorldModel', () => {
  it('targets are the 4 Linears per block with the LayerNorm feeding qkv and fc1', () => {
    const t = quantTargets(fresh());
    expect(t.length).toBe(4 * (cfg.encoder.depth + cfg.predictor.depth));
    expect(t.filter((x) => x.prevNorm).map((x) => x.role).sort()).toEqual(Array(2 * (cfg.encoder.depth + cfg.predictor.depth)).fill(0).map((_, i) => (i < cfg.encoder.depth + cfg.predictor.depth ? 'fc1' : 'qkv')));
  });
  it('the recorder keeps the global per-channel range of everything it saw', () => {
    const m = fresh();
    const calib = calibrate(m);
    const x = calib.get('predictor.blocks.0.mlp.fc1')!;
    const [N, I] = x.shape;
    for (let j = 0; j < I; j++) {
      let lo = Infinity;
      let hi = -Infinity;
      for (let n = 0; n < N - 2; n++) {
        lo = Math.min(lo, x.f32[n * I + j]);
        hi = Math.max(hi, x.f32[n * I + j]);
      }
      expect(x.f32[(N - 2) * I + j]).toBeLessThanOrEqual(lo);
      expect(x.f32[(N - 1) * I + j]).toBeGreaterThanOrEqual(hi);
    }
  });
  for (const [method, wbits, abits, act, group] of [
    ['rtn', 4, 16, 'per-tensor', -1],
    ['rtn', 8, 8, 'per-tensor', -1],
    ['rtn', 4, 4, 'per-token', -1],
    ['gptq', 3, 16, 'per-tensor', 8],
    ['smoothquant', 8, 8, 'per-tensor', -1],
    ['awq', 4, 16, 'per-tensor', 8],
    ['omse', 6, 6, 'per-tensor', -1],
    ['omniquant', 8, 8, 'per-tensor', -1],
  ] as const) {
    it(`${method} W${wbits}A${abits} ${act} g${group}: a saved file loads to the same integer model, and per-channel 4-bit files are < half the f32 file`, () => {
      const m = fresh();
      const calib = calibrate(m);
      const config = { encoder: { wbits, abits }, predictor: { wbits, abits }, groupSize: group, groupLayout: 'row-aligned' as const, act, semantics: 'quantwm' as const };
      const res = quantizeTargets(m, method as MethodName, config, calib);
      const bytes = saveQuantizedModel(m, res, { test: true });
      applyResult(m, res, 'integer');
      const z0 = m.encode(obs[0]);
      const a = m.rollout(z0, acts, 8, 3, 'last');
      const { model, plan } = loadModel(bytes);
      expect(plan?.method).toBe(method);
      const z1 = model.encode(obs[0]);
      expect(Array.from(z1.visual)).toEqual(Array.from(z0.visual));
      expect(Array.from(model.rollout(z1, acts, 8, 3, 'last').visual)).toEqual(Array.from(a.visual));
      if (wbits <= 4 && group === -1) {
        const f32 = saveWorldModel(fresh()).length;
        expect(bytes.length).toBeLessThan(f32 * 0.5);
      }
    });
  }
});

describe("QuantWM's flat groups straddling rows (predictor in 36, G 8): row-aligned sub-groups of 4 derived at load", () => {
  for (const [method, wbits, abits, act, semantics] of [
    ['rtn', 4, 16, 'per-tensor', 'quantwm'],
    ['rtn', 3, 8, 'per-token', 'quantwm'],
    ['rtn', 4, 8, 'per-tensor', 'quantwm'],
    ['awq', 4, 16, 'per-tensor', 'paper'],
  ] as const) {
    it(`${method} (${semantics}) W${wbits}A${abits} ${act}: every Linear on an int4 kernel; the file keeps the flat parameters and loads to the same model bit for bit`, () => {
      const m = fresh();
      const calib = calibrate(m);
      const config = { encoder: { wbits, abits }, predictor: { wbits, abits }, groupSize: 8, groupLayout: 'flat' as const, act, semantics };
      const res = quantizeTargets(m, method as MethodName, config, calib);
      const bytes = saveQuantizedModel(m, res);
      applyResult(m, res, 'integer');
      const kinds = new Set(m.linears().map((l) => l.linear.impl?.kind));
      expect([...kinds]).toEqual([abits === 16 ? 'w4a16-int4-gemm' : 'w4a8-int4-gemm']);
      const z0 = m.encode(obs[0]);
      const a = m.rollout(z0, acts, 8, 3, 'last');
      const { model, plan } = loadModel(bytes);
      const qkv = plan!.layers.find((l) => l.name === 'predictor.blocks.0.attn.to_qkv')!;
      expect(qkv.weight!.granularity).toEqual({ kind: 'per-group', size: 8, layout: 'flat' });
      expect(qkv.weight!.qparams.scale.length).toBe((384 * 36) / 8); // the plan's own flat groups, not the 4-wide copy
      const z1 = model.encode(obs[0]);
      expect(Array.from(z1.visual)).toEqual(Array.from(z0.visual));
      expect(Array.from(model.rollout(z1, acts, 8, 3, 'last').visual)).toEqual(Array.from(a.visual));
      // AWQ 'paper': the GELU -> fc2 ScaledActivation of every block, installed and carried by the file
      const blocks = [...model.encoder.blocks, ...model.predictor.blocks];
      for (const b of blocks) {
        const s = res.actScales?.get(b.mlp.fc2.name);
        expect(s !== undefined).toBe(semantics === 'paper');
        expect(b.mlp.actScale ? Array.from(b.mlp.actScale.f32) : undefined).toEqual(s ? Array.from(s.f32) : undefined);
      }
    });
  }
});

describe('audit trail', () => {
  it('lists every group scale and measures per-layer errors that grow as bits shrink', async () => {
    const { auditPlan, layerErrors } = await import('../../src/quant/audit.js');
    const errs: number[] = [];
    for (const wbits of [8, 3]) {
      const float = fresh();
      const calib = calibrate(float);
      const q = fresh();
      const res = quantizeTargets(q, 'rtn', { encoder: { wbits, abits: 16 }, predictor: { wbits, abits: 16 }, groupSize: -1 }, calib);
      applyResult(q, res, 'integer');
      const a = auditPlan(res.plan) as { layers: { weight: { scale: number[] }; shape: number[] }[] };
      for (const l of a.layers) expect(l.weight.scale.length).toBe(l.shape[0]); // per output channel
      const rows = layerErrors(float, q, res.plan, calib);
      expect(rows.length).toBe(res.plan.layers.length);
      for (const r of rows) expect(Number.isFinite(r.output_rel_error)).toBe(true);
      errs.push(rows.reduce((s, r) => s + r.weight_rel_error, 0) / rows.length);
    }
    // RTN error scales like 2^-bits: 3-bit is far worse than 8-bit
    expect(errs[1]).toBeGreaterThan(10 * errs[0]);
    expect(errs[0]).toBeLessThan(0.01);
  });
});
