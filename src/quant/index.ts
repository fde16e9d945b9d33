/**
 * quant: exact quantization primitives, observers, granularities, packing, the QuantPlan, the PTQ
 * methods (RTN, OMSE, SmoothQuant, AWQ, OmniQuant, GPTQ) and their execution (fake-quant
 * reference, integer kernels). Conventions and every departure of QuantWM's code from the
 * published methods: docs/quantization.md.
 */
export * from './round.js';
export * from './bittype.js';
export * from './affine.js';
export * from './granularity.js';
export * from './packing.js';
export * from './seam.js';
export * from './plan.js';
export * from './calibration.js';
export * from './execute.js';
export * from './integer-linear.js';
export * from './observers/index.js';
export { rtn, type RtnOptions } from './methods/rtn.js';
export { omse, type OmseOptions } from './methods/omse.js';
export { smoothQuant, smoothScales, type SmoothQuantOptions } from './methods/smoothquant.js';
export { awq, awqScales, awqSearchClip, awqSearchScale, applyClip, meanAbs, type AwqOptions, type InspectFn } from './methods/awq.js';
export { gptq, gptqLayer, gptqHessian, gptqRtn, inverseCholeskyUpper, layerOutputError, type GptqOptions, type GptqResult, type GptqMethodOptions } from './methods/gptq.js';
export { omniQuant, lwcQParams, channelShift, LWC_INIT, type OmniQuantOptions, type OmniBlock, type OmniContext } from './methods/omniquant.js';
export * from './methods/transforms.js';
