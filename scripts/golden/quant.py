#!/usr/bin/python3
"""Golden fixtures for src/quant: PyTorch fake-quant and QuantWM's quantizer formulas in float32 torch.

Run with the Debian torch (1.13 CPU):   /usr/bin/python3 scripts/golden/quant.py
Writes test/fixtures/quant/quant.json (index) and quant.bin (little-endian tensors). Tests never run this script; they read only the fixture.

The QuantWM functions below restate, statement by statement, the code of huawei-noah/noah-research
QuantWM/models/ptq/{observer/minmax.py, observer/omse.py, observer/percentile.py,
quantizer/uniform.py, layers.py} and QuantWM/quant_utils/awq/quantizer.py (see
shared/reference/quantwm-dinowm-spec.md A.3). Inputs include exact ties (x / s = k + 0.5 in float32)
so that round-half-to-even is exercised; each case records how many ties it holds.
"""
import json
import os
import sys

import torch

SEED = 20240611
torch.manual_seed(SEED)
F32 = torch.float32
EPS = torch.finfo(torch.float32).eps


BLOB = bytearray()


def tensor_entry(t):
    """Append t's little-endian bytes to the blob; return {shape, dtype, offset, length}."""
    t = t.detach().contiguous()
    if t.dtype == torch.float32:
        arr, dt = t.numpy().astype('<f4'), 'f32'
    elif t.dtype in (torch.int32, torch.int64):
        arr, dt = t.to(torch.int32).numpy().astype('<i4'), 'i32'
    elif t.dtype == torch.int8:
        arr, dt = t.numpy(), 'i8'
    else:
        raise TypeError(t.dtype)
    while len(BLOB) % 4:
        BLOB.append(0)
    raw = arr.tobytes()
    entry = {'shape': list(t.shape), 'dtype': dt, 'offset': len(BLOB), 'length': len(raw)}
    BLOB.extend(raw)
    return entry


def fr(v):
    """Python float -> nearest float32, as a Python float."""
    return float(torch.tensor(v, dtype=F32))


# ------------------------------------------------------------------------------------------------
# QuantWM code, restated (module_type 'linear_weight' / 'activation')

def reshape_tensor(v, module_type, group_size):
    # observer/base.py BaseObserver.reshape_tensor
    if module_type == 'linear_weight':
        v = v.reshape(v.shape[0], -1)
        if group_size > 0:
            v = v.reshape(-1, group_size)
    elif module_type == 'activation':
        v = v.reshape(-1, v.shape[-1])
        v = v.transpose(0, 1)
    return v


class MinmaxObserver:
    # observer/minmax.py (lwc off)
    def __init__(self, module_type, qmin, qmax, signed, calibration_mode, group_size=-1):
        self.module_type, self.qmin, self.qmax = module_type, qmin, qmax
        self.symmetric, self.calibration_mode, self.group_size = signed, calibration_mode, group_size
        self.max_val = self.min_val = None

    def update(self, v):
        v = reshape_tensor(v, self.module_type, self.group_size)
        cur_max = v.max(axis=1).values
        self.max_val = cur_max if self.max_val is None else torch.max(cur_max, self.max_val)
        cur_min = v.min(axis=1).values
        self.min_val = cur_min if self.min_val is None else torch.min(cur_min, self.min_val)
        if self.calibration_mode == 'layer_wise':
            self.max_val = self.max_val.max()
            self.min_val = self.min_val.min()

    def get_quantization_params(self):
        return minmax_params(self.min_val, self.max_val, self.qmin, self.qmax, self.symmetric)


def minmax_params(min_val, max_val, qmin, qmax, symmetric):
    if symmetric:
        max_val = torch.max(-min_val, max_val)
        scale = max_val / (float(qmax - qmin) / 2)
        scale.clamp_(EPS)
        zero_point = torch.zeros_like(max_val, dtype=torch.int64)
    else:
        scale = (max_val - min_val) / float(qmax - qmin)
        scale.clamp_(EPS)
        zero_point = qmin - torch.round(min_val / scale)
        zero_point.clamp_(qmin, qmax)
    return scale, zero_point


def uniform_forward(inputs, scale, zero_point, qmin, qmax, module_type, group_size=-1):
    # quantizer/base.py BaseQuantizer.forward + quantizer/uniform.py quant/dequantize
    if module_type == 'linear_weight' and group_size > 0:
        dim1, dim2 = inputs.shape
        inputs = inputs.reshape(-1, group_size)
    if module_type == 'linear_weight':
        range_shape = (-1, 1)
    elif inputs.dim() == 2:
        range_shape = (1, -1)
    else:
        range_shape = (1, 1, -1)
    s = scale.reshape(range_shape)
    z = zero_point.reshape(range_shape)
    outputs = inputs / s + z
    outputs = outputs.round().clamp(qmin, qmax)
    outputs = (outputs - z) * s
    if module_type == 'linear_weight' and group_size > 0:
        outputs = outputs.reshape(dim1, dim2)
    return outputs


def omse_weight_params(inputs, qmin, qmax, group_size=-1):
    # observer/omse.py get_quantization_params, calibration_mode 'channel_wise' (symmetric = True)
    CLIPMIN, CLIPMAX = 1e-5, 1e4
    inputs = reshape_tensor(inputs, 'linear_weight', group_size)
    xmin_ori = inputs.amin([-1], keepdim=True)
    xmax_ori = inputs.amax([-1], keepdim=True)
    loop_times, bottom_bound = 100, 0.35
    ratio_list = torch.ones_like(xmax_ori)
    best_score_list = torch.ones_like(xmax_ori) * 100000
    for i in range(loop_times + 1):
        temp_ratio = (bottom_bound + i * (1 - bottom_bound) / loop_times)
        xmax = temp_ratio * xmax_ori
        xmin = temp_ratio * xmin_ori
        abs_max = torch.max(xmax.abs(), xmin.abs())
        scale = abs_max / qmax
        scale = scale.clamp(min=CLIPMIN, max=CLIPMAX)
        round_zero_point = torch.zeros_like(scale)
        inputs_q = (inputs / scale).round().add(round_zero_point).clamp(qmin, qmax).sub(round_zero_point).mul(scale)
        scores = (inputs - inputs_q).abs().pow(2.0).sum(1).reshape(xmax.shape)
        better_index = scores < best_score_list
        ratio_list[better_index] = temp_ratio
        best_score_list = torch.min(best_score_list, scores)
    xmax = ratio_list * xmax_ori
    xmin = ratio_list * xmin_ori
    abs_max = torch.max(xmax.abs(), xmin.abs())
    scale = abs_max / qmax
    scale = scale.clamp(min=CLIPMIN, max=CLIPMAX)
    return scale, torch.zeros_like(scale), ratio_list, best_score_list


def omse_act_params(min_val, max_val, inputs, qmin, qmax):
    # observer/omse.py get_quantization_params, calibration_mode 'layer_wise'
    best_score = 1e+10
    for i in range(90):
        new_max = max_val * (1.0 - (i * 0.01))
        new_min = min_val * (1.0 - (i * 0.01))
        new_scale = (new_max - new_min) / float(qmax - qmin)
        new_scale.clamp_(EPS)
        new_zero_point = qmin - torch.round(new_min / new_scale)
        new_zero_point.clamp_(qmin, qmax)
        inputs_q = ((inputs / new_scale + new_zero_point).round().clamp(qmin, qmax) - new_zero_point) * new_scale
        score = (inputs_q - inputs).abs().pow(2.0).mean()  # utils.lp_loss(p=2, reduction='all')
        if score < best_score:
            best_score = score
            best_i = i
            scale = new_scale
            zero_point = new_zero_point
    return scale, zero_point, best_i


def round_ste(x):
    return (x.round() - x).detach() + x


def per_token(x, n_bits):
    # layers.py quantize_activation_per_token_absmax
    qmin = 0
    qmax = 2 ** (n_bits) - 1
    xmin = x.amin([-1], keepdim=True)
    xmax = x.amax([-1], keepdim=True)
    scale = ((xmax - xmin) / (2 ** n_bits - 1)).clamp(min=1e-5, max=1e4)
    zero_point = round_ste((-xmin / scale).clamp(min=-1e4, max=1e4))
    x_dequant = round_ste(x / scale).add(zero_point).clamp(qmin, qmax).sub(zero_point).mul(scale)
    return x_dequant, scale, zero_point


def awq_pseudo_quantize(w, n_bit, zero_point, q_group_size):
    # quant_utils/awq/quantizer.py pseudo_quantize_tensor (inplace=False)
    org_w_shape = w.shape
    if q_group_size > 0:
        w = w.reshape(-1, q_group_size)
    if zero_point:
        max_val = w.amax(dim=1, keepdim=True)
        min_val = w.amin(dim=1, keepdim=True)
        max_int = 2 ** n_bit - 1
        min_int = 0
        scales = (max_val - min_val).clamp(min=1e-5) / max_int
        zeros = (-torch.round(min_val / scales)).clamp_(min_int, max_int)
    else:
        max_val = w.abs().amax(dim=1, keepdim=True)
        max_val = max_val.clamp(min=1e-5)
        max_int = 2 ** (n_bit - 1) - 1
        min_int = -(2 ** (n_bit - 1))
        scales = max_val / max_int
        zeros = torch.zeros_like(scales)
    w = (torch.clamp(torch.round(w / scales) + zeros, min_int, max_int) - zeros) * scales
    return w.reshape(org_w_shape), scales.reshape(-1), zeros.reshape(-1)


class PercentileObserver:
    # observer/percentile.py (layer_wise only)
    def __init__(self):
        self.sigma, self.alpha = 0.01, 0.99999
        self.max_val = self.min_val = None

    def update(self, v):
        v = reshape_tensor(v, 'activation', -1)
        cur_max = torch.quantile(v.reshape(-1), self.alpha)
        cur_min = torch.quantile(v.reshape(-1), 1.0 - self.alpha)
        self.max_val = cur_max if self.max_val is None else self.max_val + self.sigma * (cur_max - self.max_val)
        self.min_val = cur_min if self.min_val is None else self.min_val + self.sigma * (cur_min - self.min_val)


# ------------------------------------------------------------------------------------------------
# Tie construction

def sym_weight_with_ties(rows, cols, bits, group_size=-1, spread=1.0):
    """Random weights; in each group the absmax is set first, then a third of the other entries are
    moved onto fr((k + 0.5) * s) with s the scale the min-max observer will compute."""
    qmax = 2 ** (bits - 1) - 1
    qmin = -(2 ** (bits - 1))
    w = torch.randn(rows, cols, dtype=F32) * spread
    g = w.reshape(-1, group_size if group_size > 0 else cols)  # a view
    absmax = torch.max(-g.min(dim=1).values, g.max(dim=1).values)
    s = (absmax / (float(qmax - qmin) / 2)).clamp(EPS)
    n = g.shape[1]
    for r in range(g.shape[0]):
        arg = int(torch.argmax(g[r].abs()))
        for j in range(0, n, 3):
            if j == arg:
                continue
            k = int(torch.randint(qmin, qmax, (1,)))  # k + 0.5 in (qmin, qmax)
            g[r, j] = torch.tensor((k + 0.5), dtype=F32) * s[r]
    return w


def count_ties_div(x, s, z=0.0):
    t = x / s + z
    return int(((t - t.floor()) == 0.5).sum())


# ------------------------------------------------------------------------------------------------

cases = []


def add(name, kind, params, tensors, ties=None):
    c = {'name': name, 'kind': kind, 'params': params, 'tensors': {k: tensor_entry(v) for k, v in tensors.items()}}
    if ties is not None:
        c['ties'] = ties
    cases.append(c)


# 1. torch.fake_quantize_per_tensor_affine: x * fp32(1/s), round half even, + z, clamp, - z, * s
for (scale, zp, qmin, qmax) in [(0.1, 0, -128, 127), (0.0375, 113, 0, 255), (0.3, 3, 0, 15), (0.02, 0, -8, 7), (1e-3, 2, -4, 3)]:
    s32 = fr(scale)
    inv = torch.tensor(1.0, dtype=F32) / torch.tensor(s32, dtype=F32)
    ks = torch.arange(qmin - zp - 3, qmax - zp + 3, dtype=F32)
    ties_x = ((ks + 0.5) * s32).to(F32)
    rnd = torch.randn(200, dtype=F32) * (qmax - qmin) * s32 / 3
    special = torch.tensor([0.0, -0.0, 1e30, -1e30, s32 / 2, -s32 / 2, s32 * 1.5, -s32 * 1.5, qmax * s32 * 10], dtype=F32)
    x = torch.cat([ties_x, rnd, special])
    y = torch.fake_quantize_per_tensor_affine(x, s32, zp, qmin, qmax)
    t = x * inv
    add(f'torch_per_tensor_s{scale}_z{zp}_q{qmin}_{qmax}', 'torch_per_tensor',
        {'scale': s32, 'zero_point': zp, 'qmin': qmin, 'qmax': qmax}, {'x': x, 'y': y},
        ties=int(((t - t.floor()) == 0.5).sum()))

# 2. torch.fake_quantize_per_channel_affine, axis 0 and axis 1
for axis in (0, 1):
    C, K = 6, 40
    shape = (C, K) if axis == 0 else (K, C)
    scales = (torch.rand(C, dtype=F32) * 0.2 + 0.01)
    zps = torch.randint(0, 20, (C,), dtype=torch.int32)
    x = torch.randn(*shape, dtype=F32) * 3
    # put ties on a third of the entries: x = fr((k + 0.5) * s_c)
    for c in range(C):
        for j in range(0, K, 3):
            k = float(torch.randint(-30, 30, (1,)))
            if axis == 0:
                x[c, j] = torch.tensor(k + 0.5, dtype=F32) * scales[c]
            else:
                x[j, c] = torch.tensor(k + 0.5, dtype=F32) * scales[c]
    y = torch.fake_quantize_per_channel_affine(x, scales, zps, axis, 0, 255)
    add(f'torch_per_channel_axis{axis}', 'torch_per_channel', {'axis': axis, 'qmin': 0, 'qmax': 255},
        {'x': x, 'scale': scales, 'zero_point': zps, 'y': y})

# 3. QuantWM min-max symmetric weights, per channel, bits 8/4/3
for bits in (8, 4, 3):
    qmin, qmax = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    w = sym_weight_with_ties(12, 64, bits)
    obs = MinmaxObserver('linear_weight', qmin, qmax, True, 'channel_wise')
    obs.update(w)
    s, z = obs.get_quantization_params()
    y = uniform_forward(w, s, z, qmin, qmax, 'linear_weight')
    add(f'quantwm_minmax_sym_w{bits}', 'quantwm_minmax_weight', {'bits': bits, 'group_size': -1},
        {'w': w, 'scale': s, 'y': y}, ties=count_ties_div(w, s.reshape(-1, 1)))

# 4. QuantWM min-max symmetric weights, flat groups of 128 over in_features = 404 (groups straddle rows).
#    The large cases store the integer codes q (int8) instead of y = (q - z) * s to stay small.
for bits in (4,):
    qmin, qmax = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    w = sym_weight_with_ties(32, 404, bits, group_size=128)
    obs = MinmaxObserver('linear_weight', qmin, qmax, True, 'channel_wise', group_size=128)
    obs.update(w)
    s, z = obs.get_quantization_params()
    q = (w.reshape(-1, 128) / s.reshape(-1, 1) + 0).round().clamp(qmin, qmax).reshape(w.shape)
    y = uniform_forward(w, s, z, qmin, qmax, 'linear_weight', group_size=128)
    assert torch.equal(y, (q.reshape(-1, 128) * s.reshape(-1, 1)).reshape(w.shape))
    add(f'quantwm_minmax_sym_w{bits}_g128_in404', 'quantwm_minmax_weight', {'bits': bits, 'group_size': 128},
        {'w': w, 'scale': s, 'q': q.to(torch.int8)}, ties=count_ties_div(w.reshape(-1, 128), s.reshape(-1, 1)))

# 5. QuantWM min-max asymmetric per-tensor activations (uint8, uint4), running over two calls
for bits in (8, 4):
    qmin, qmax = 0, 2 ** bits - 1
    x1 = (torch.randn(2, 30, 24, dtype=F32) * 1.5 + 0.3).clamp(-3.5, 4.5)
    x2 = (torch.randn(2, 30, 24, dtype=F32) * 1.5 + 0.3).clamp(-3.5, 4.5)
    x1[0, 0, 0] = -4.0
    x2[1, 2, 3] = 5.5
    obs = MinmaxObserver('activation', qmin, qmax, False, 'layer_wise')
    obs.update(x1)
    s0, z0 = minmax_params(torch.tensor(-4.0), torch.tensor(5.5), qmin, qmax, False)
    # ties for the final (s, z): x / s + z = k + 0.5
    flat = x2.reshape(-1)
    for j in range(0, flat.numel(), 4):
        if j == 1 * 30 * 24 + 2 * 24 + 3:
            continue
        k = float(torch.randint(1, qmax - 1, (1,)))
        flat[j] = (torch.tensor(k + 0.5, dtype=F32) - z0) * s0
    obs.update(x2)
    s, z = obs.get_quantization_params()
    assert float(s) == float(s0) and float(z) == float(z0)
    y1 = uniform_forward(x1, s, z, qmin, qmax, 'activation')
    y2 = uniform_forward(x2, s, z, qmin, qmax, 'activation')
    add(f'quantwm_minmax_asym_a{bits}_per_tensor', 'quantwm_minmax_act', {'bits': bits},
        {'x1': x1, 'x2': x2, 'scale': s.reshape(1), 'zero_point': z.reshape(1).to(F32), 'y1': y1, 'y2': y2},
        ties=count_ties_div(x2, s, z))

# 6. QuantWM OMSE weights (101 ratios 0.35..1, symmetric s = absmax/qmax, per-row sum of squares)
for bits, rows, cols, gs in ((8, 16, 96, -1), (4, 16, 96, -1), (3, 16, 96, -1), (4, 32, 404, 128)):
    qmin, qmax = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    w = torch.randn(rows, cols, dtype=F32)
    w[::3, 0] *= 6.0  # outliers make clipping worthwhile
    s, z, ratio, best = omse_weight_params(w, qmin, qmax, gs)
    y = uniform_forward(w, s.reshape(-1), z.reshape(-1), qmin, qmax, 'linear_weight', group_size=gs)
    out = {'w': w, 'scale': s.reshape(-1), 'ratio': ratio.reshape(-1), 'best_score': best.reshape(-1)}
    if gs > 0:
        q = (w.reshape(-1, gs) / s.reshape(-1, 1)).round().clamp(qmin, qmax).reshape(w.shape)
        assert torch.equal(y, (q.reshape(-1, gs) * s.reshape(-1, 1)).reshape(w.shape))
        out['q'] = q.to(torch.int8)
    else:
        out['y'] = y
    add(f'quantwm_omse_w{bits}' + (f'_g{gs}_in{cols}' if gs > 0 else ''), 'quantwm_omse_weight',
        {'bits': bits, 'group_size': gs}, out)

# 7. QuantWM OMSE activations (layer_wise, 90 candidates, mean squared error on the last batch)
for bits in (8, 4):
    qmin, qmax = 0, 2 ** bits - 1
    x1 = torch.randn(2, 40, 16, dtype=F32)
    x2 = torch.randn(2, 40, 16, dtype=F32)
    x2[0, 0, :3] = torch.tensor([9.0, -7.0, 6.0])
    obs = MinmaxObserver('activation', qmin, qmax, False, 'layer_wise')
    obs.update(x1)
    obs.update(x2)
    s, z, best_i = omse_act_params(obs.min_val, obs.max_val, x2, qmin, qmax)
    y = uniform_forward(x2, s, z, qmin, qmax, 'activation')
    add(f'quantwm_omse_a{bits}', 'quantwm_omse_act', {'bits': bits, 'best_i': best_i},
        {'x1': x1, 'x2': x2, 'scale': s.reshape(1), 'zero_point': z.reshape(1).to(F32), 'y': y})

# 8. QuantWM dynamic per-token activations (asymmetric, computed on every call)
for bits in (8, 4):
    x = torch.randn(3, 20, 48, dtype=F32) * 2
    x[:, :, 0] = x.amin(-1) - 0.5  # the extremes sit in columns 0 and 1, ties go elsewhere
    x[:, :, 1] = x.amax(-1) + 0.5
    xmin = x.amin([-1], keepdim=True)
    xmax = x.amax([-1], keepdim=True)
    s = ((xmax - xmin) / (2 ** bits - 1)).clamp(min=1e-5, max=1e4)
    # ties strictly inside each token's range: x = fr(k + 0.5) * s, k in (min/s, max/s - 1)
    lo = torch.ceil(xmin / s) + 1
    hi = torch.floor(xmax / s) - 2
    for idx in range(2, 48, 5):
        k = torch.floor(lo + (hi - lo) * torch.rand(3, 20, 1))
        x[:, :, idx:idx + 1] = (k + 0.5) * s
    assert torch.equal(x.amin([-1], keepdim=True), xmin) and torch.equal(x.amax([-1], keepdim=True), xmax)
    y, s2, zp = per_token(x, bits)
    add(f'quantwm_per_token_a{bits}', 'quantwm_per_token', {'bits': bits},
        {'x': x, 'scale': s2.reshape(-1), 'zero_point': zp.reshape(-1), 'y': y}, ties=count_ties_div(x, s2))

# 9. AWQ pseudo_quantize_tensor (asymmetric with zero point; symmetric without)
for bits, rows, cols, gs, zpt in ((4, 8, 256, 128, True), (8, 16, 96, -1, True), (4, 32, 404, 128, True), (4, 16, 96, -1, False)):
    w = torch.randn(rows, cols, dtype=F32)
    w[:, ::7] += 0.75  # asymmetric ranges
    y, s, z = awq_pseudo_quantize(w, bits, zpt, gs)
    out = {'w': w, 'scale': s, 'zero_point': z}
    if cols == 404:
        g = gs if gs > 0 else cols
        q = torch.clamp(torch.round(w.reshape(-1, g) / s.reshape(-1, 1)) + z.reshape(-1, 1), 0 if zpt else -(2 ** (bits - 1)),
                        2 ** bits - 1 if zpt else 2 ** (bits - 1) - 1)
        assert torch.equal(y, ((q - z.reshape(-1, 1)) * s.reshape(-1, 1)).reshape(w.shape))
        out['q'] = q.reshape(w.shape).to(torch.int8)
    else:
        out['y'] = y
    add(f'awq_pq_w{bits}_g{gs}_in{cols}' + ('' if zpt else '_nozp'), 'awq_pseudo_quantize',
        {'bits': bits, 'group_size': gs, 'zero_point': zpt}, out)

# 10. Percentile observer (torch.quantile at 0.99999 / 0.00001, EMA sigma 0.01), then min-max asymmetric
for bits in (8,):
    qmin, qmax = 0, 2 ** bits - 1
    x1 = torch.randn(2, 300, 8, dtype=F32)
    x2 = torch.randn(2, 300, 8, dtype=F32) * 1.3
    obs = PercentileObserver()
    obs.update(x1)
    obs.update(x2)
    s, z = minmax_params(obs.min_val, obs.max_val, qmin, qmax, False)
    add(f'quantwm_percentile_a{bits}', 'quantwm_percentile', {'bits': bits},
        {'x1': x1, 'x2': x2, 'min': obs.min_val.reshape(1), 'max': obs.max_val.reshape(1),
         'scale': s.reshape(1), 'zero_point': z.reshape(1).to(F32)})

out = {
    'format': 'quantwm-golden-quant',
    'version': 1,
    'torch': torch.__version__,
    'seed': SEED,
    'generator': 'scripts/golden/quant.py',
    'cases': cases,
}
out['blob'] = 'quant.bin'
out['blob_bytes'] = len(BLOB)
base = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'fixtures', 'quant')
with open(os.path.join(base, 'quant.json'), 'w') as f:
    json.dump(out, f, indent=1)
with open(os.path.join(base, 'quant.bin'), 'wb') as f:
    f.write(bytes(BLOB))
print(f'wrote {len(cases)} cases to {os.path.normpath(base)}/quant.json + quant.bin ({len(BLOB)} bytes)', file=sys.stderr)
for c in cases:
    if 'ties' in c:
        print(f"  {c['name']}: {c['ties']} exact ties", file=sys.stderr)
