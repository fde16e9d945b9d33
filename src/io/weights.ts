/**
 * One entry point over every reader: `loadWeights` (any format, source names), `inspectWeights`
 * (the listing `quantwm inspect` prints, without reading tensor values where the format allows),
 * and `convertToQwm` (any format -> canonical names -> inferred config -> .qwm bytes).
 */
import { VERSION } from '../version.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ReadOptions } from './bytes.js';
import { checkConfig, inferConfig, type InferOptions, type WeightConfig } from './config.js';
import { FormatError, type FormatLoc } from './errors.js';
import { canonicalName, sectionOf, toCanonical, type NameScheme } from './names.js';
import { readQwm, writeQwm, type PlainData, type QwmReadOptions } from './qwm.js';
import { parseSafetensorsHeader, readSafetensors, type SafetensorsReadOptions } from './safetensors.js';
import { detectFormat, type WeightFormat } from './sniff.js';
import { openTorch, type Skipped, type TorchReadOptions } from './torch.js';
import { infoOf, safeNumel, type TensorInfo } from './tensors.js';

export type LoadOptions = ReadOptions & QwmReadOptions & SafetensorsReadOptions & TorchReadOptions;

export interface LoadedWeights {
  format: WeightFormat;
  /** state tensors under their source names (canonical for .qwm) */
  tensors: Map<string, Tensor>;
  /** torch only: plain tensor attributes of pickled modules */
  extras: Map<string, Tensor>;
  info: TensorInfo[];
  /** .qwm config and meta */
  config?: Record<string, PlainData>;
  meta?: Record<string, PlainData>;
  /** safetensors __metadata__ */
  metadata?: Record<string, string>;
  /** torch only: objects not walked (optimizers, unknown classes) */
  skipped: Skipped[];
}

/** Read any supported weight file (format detected from its bytes). */
export function loadWeights(bytes: Uint8Array, opts: LoadOptions = {}): LoadedWeights {
  const format = detectFormat(bytes, { file: opts.file });
  switch (format) {
    case 'qwm': {
      const m = readQwm(bytes, opts);
      const info = [...m.tensors].map(([n, t]) => infoOf(n, t));
      return { format, tensors: m.tensors, extras: new Map(), info, config: m.config, meta: m.meta, skipped: [] };
    }
    case 'safetensors': {
      const s = readSafetensors(bytes, opts);
      return { format, tensors: s.tensors, extras: new Map(), info: s.info, metadata: s.metadata, skipped: [] };
    }
    case 'torch-zip': {
      const ck = openTorch(bytes, opts);
      const extras = new Map<string, Tensor>();
      for (const n of ck.extras.keys()) extras.set(n, ck.tensor(n));
      return { format, tensors: ck.tensors(), extras, info: ck.info(), skipped: ck.skipped };
    }
  }
}

export interface SectionCount {
  section: string;
  tensors: number;
  params: number;
}

/** What `quantwm inspect` prints (and `--json` emits). */
export interface Listing {
  file: string;
  format: WeightFormat;
  fileBytes: number;
  tensors: TensorInfo[];
  /** elements of state tensors (extras excluded) */
  params: number;
  /** bytes of state tensors as stored */
  bytes: number;
  /** parameter count per canonical section (encoder, predictor, ...; 'other' for unmapped names) */
  sections: SectionCount[];
  config?: Record<string, PlainData>;
  meta?: Record<string, PlainData>;
  metadata?: Record<string, string>;
  skipped?: Skipped[];
}

function sectionName(name: string): string {
  const t = canonicalName(name);
  if (t.kind === 'rename' || t.kind === 'qkv') return sectionOf(t.to) ?? 'other';
  if (t.kind === 'drop') return 'dropped';
  return 'other';
}

/** The tensor listing of a weight file. torch and safetensors files are listed without reading tensor values. */
export function inspectWeights(bytes: Uint8Array, opts: LoadOptions = {}): Listing {
  const file = opts.file ?? '<bytes>';
  const format = detectFormat(bytes, { file });
  let tensors: TensorInfo[];
  const extra: Partial<Listing> = {};
  if (format === 'qwm') {
    const m = readQwm(bytes, opts);
    tensors = [...m.tensors].map(([n, t]) => infoOf(n, t));
    extra.config = m.config;
    extra.meta = m.meta;
  } else if (format === 'safetensors') {
    const h = parseSafetensorsHeader(bytes, opts);
    tensors = h.entries.map((e) => ({ name: e.name, dtype: e.dtype, shape: e.shape, numel: safeNumel(e.shape), bytes: e.end - e.begin }));
    if (h.metadata) extra.metadata = h.metadata;
  } else {
    const ck = openTorch(bytes, opts);
    tensors = ck.info();
    extra.skipped = ck.skipped;
  }
  const state = tensors.filter((t) => t.role !== 'extra');
  const bySection = new Map<string, SectionCount>();
  for (const t of state) {
    const s = sectionName(t.name);
    const c = bySection.get(s) ?? { section: s, tensors: 0, params: 0 };
    c.tensors++;
    c.params += t.numel;
    bySection.set(s, c);
  }
  return {
    file,
    format,
    fileBytes: bytes.length,
    tensors,
    params: state.reduce((a, t) => a + t.numel, 0),
    bytes: state.reduce((a, t) => a + t.bytes, 0),
    sections: [...bySection.values()],
    ...extra,
  };
}

/** Human-readable table of a listing. */
export function formatListing(l: Listing): string {
  const rows = l.tensors.map((t) => [t.name + (t.role === 'extra' ? '  (extra)' : ''), t.dtype, `[${t.shape.join(', ')}]`, String(t.numel), String(t.bytes)]);
  const head = ['name', 'dtype', 'shape', 'numel', 'bytes'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]): string => r.map((c, i) => (i >= 3 ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ').trimEnd();
  const out = [`${l.file}: ${l.format}, ${l.tensors.length} tensors, ${fmtCount(l.params)} parameters, ${fmtBytes(l.bytes)} of tensor data (file ${fmtBytes(l.fileBytes)})`, ''];
  out.push(line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line), '');
  if (l.sections.length > 0) {
    out.push('parameters by section:');
    for (const s of l.sections) out.push(`  ${s.section.padEnd(16)} ${String(s.tensors).padStart(5)} tensors  ${fmtCount(s.params).padStart(12)}`);
    out.push('');
  }
  if (l.skipped && l.skipped.length > 0) {
    out.push('not walked (no parameters read from these objects):');
    for (const s of l.skipped) out.push(`  ${s.path}: ${s.type}`);
    out.push('');
  }
  if (l.config && Object.keys(l.config).length > 0) out.push(`config: ${JSON.stringify(l.config)}`);
  if (l.meta && Object.keys(l.meta).length > 0) out.push(`meta: ${JSON.stringify(l.meta)}`);
  if (l.metadata) out.push(`metadata: ${JSON.stringify(l.metadata)}`);
  return `${out.join('\n').trimEnd()}\n`;
}

function fmtCount(n: number): string {
  return n.toLocaleString('en-US');
}

function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export interface ConvertOptions extends LoadOptions, InferOptions {
  /** drop source names no map knows instead of refusing the file */
  dropUnmapped?: boolean;
  /** DEFLATE level of the output (default 6) */
  level?: number;
  /** extra provenance merged into meta */
  meta?: Record<string, PlainData>;
}

export interface ConvertReport {
  format: WeightFormat;
  schemes: NameScheme[];
  tensors: number;
  params: number;
  config: WeightConfig;
  assumed: string[];
  renamed: number;
  dropped: Array<{ name: string; reason: string }>;
  skipped: Skipped[];
}

/**
 * Convert any supported file to .qwm: canonical names (./names.ts), config inferred from shapes
 * (./config.ts) and checked, provenance in meta. Unknown names are refused (E_NAME) unless
 * `dropUnmapped`; torch extras (non-state attributes) and optimizer objects are left out.
 */
export function convertToQwm(bytes: Uint8Array, opts: ConvertOptions = {}): { bytes: Uint8Array; report: ConvertReport } {
  const loc: FormatLoc = { file: opts.file ?? '<bytes>' };
  const w = loadWeights(bytes, opts);
  const mapped = toCanonical(w.tensors, loc);
  const dropped = mapped.dropped.slice();
  if (mapped.unmapped.length > 0) {
    if (!opts.dropUnmapped) {
      const list = mapped.unmapped.slice(0, 8).join(', ') + (mapped.unmapped.length > 8 ? `, ... (${mapped.unmapped.length} in all)` : '');
      throw new FormatError('E_NAME', loc, `no name map knows these tensors: ${list} (use dropUnmapped / --drop-unmapped to leave them out)`);
    }
    for (const n of mapped.unmapped) dropped.push({ name: n, reason: 'unmapped name' });
  }
  for (const n of w.extras.keys()) dropped.push({ name: n, reason: 'module attribute, not in state_dict' });
  if (mapped.tensors.size === 0) throw new FormatError('E_NAME', loc, 'no model tensors found');
  const { config, assumed } = inferConfig(mapped.tensors, opts, loc);
  checkConfig(config, mapped.tensors, loc);
  const params = [...mapped.tensors.values()].reduce((a, t) => a + t.size, 0);
  const meta: Record<string, PlainData> = {
    converter: `quantwm ${VERSION}`,
    source: { file: loc.file ?? '<bytes>', format: w.format, naming: mapped.schemes },
    assumed,
    dropped: dropped.map((d) => `${d.name}: ${d.reason}`),
    ...(w.metadata ? { sourceMetadata: w.metadata } : {}),
    ...(opts.meta ?? {}),
  };
  const out = writeQwm({ config: config as unknown as Record<string, unknown>, tensors: mapped.tensors, meta }, { level: opts.level });
  return {
    bytes: out,
    report: {
      format: w.format,
      schemes: mapped.schemes,
      tensors: mapped.tensors.size,
      params,
      config,
      assumed,
      renamed: mapped.renamed.length,
      dropped,
      skipped: w.skipped,
    },
  };
}
