"""Golden fixtures for the image ops (src/tensor/ops/conv.ts, resize.ts, image.ts).

Run with the system Python that has torch 1.13 CPU and torchvision 0.14:
    /usr/bin/python3 scripts/golden/image_ops.py
Writes test/fixtures/image_ops/{conv,resize,posembed,image,taps}.json. Every tensor is stored exactly:
little-endian float32 (or uint8) bytes, base64. Large resize cases (65->224, 224->196) do not
store their input: it is the u8 image `u8_pattern(H, W, C)` below (the TS test rebuilds it with
the same integer formula) mapped to [-1, 1], and only every k-th output row is stored, plus the
float64 sum and sum of |y| over the whole output. Tests read only the JSON; CI never runs Python.
"""
import base64, json, math, os
import numpy as np
import torch
import torch.nn.functional as F
import torchvision
import torchvision.transforms.functional as TF

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'fixtures', 'image_ops')
FORMAT = 'quantwm-golden-image-ops-1'
SEED = 20240602

torch.set_num_threads(1)
g = torch.Generator().manual_seed(SEED)


def enc(t):
    if isinstance(t, torch.Tensor):
        t = t.detach().cpu().numpy()
    a = np.ascontiguousarray(t)
    dt = {np.dtype('float32'): 'f32', np.dtype('uint8'): 'u8'}[a.dtype]
    le = a.astype(a.dtype.newbyteorder('<'))
    return {'dtype': dt, 'shape': list(a.shape), 'b64': base64.b64encode(le.tobytes()).decode('ascii')}


def write(name, cases, **meta):
    os.makedirs(OUT, exist_ok=True)
    doc = {'format': FORMAT, 'torch': torch.__version__, 'torchvision': torchvision.__version__, 'seed': SEED,
           'generator': 'scripts/golden/image_ops.py', **meta, 'cases': cases}
    path = os.path.join(OUT, name + '.json')
    with open(path, 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
    print(path, os.path.getsize(path), 'bytes', len(cases), 'cases')


def randn(*shape):
    return torch.randn(*shape, generator=g).float()


def u8_pattern(h, w, c):
    """Deterministic (H, W, C) uint8 image: smooth ramps plus a small-period texture."""
    y = np.arange(h, dtype=np.int64)[:, None, None]
    x = np.arange(w, dtype=np.int64)[None, :, None]
    ch = np.arange(c, dtype=np.int64)[None, None, :]
    v = (3 * y + 5 * x + 60 * ch + ((y * x + 7 * ch) % 17) * 4) % 256
    return v.astype(np.uint8)


def to_float_image(u8_hwc_batch):
    """DINO-WM: rearrange 'b h w c -> b c h w', / 255, Normalize(0.5, 0.5)."""
    t = torch.from_numpy(u8_hwc_batch).permute(0, 3, 1, 2)
    t = t / 255.0
    return TF.normalize(t, mean=[0.5] * t.shape[1], std=[0.5] * t.shape[1])


# ---------------------------------------------------------------------------------------------
# conv2d / conv_transpose2d (+ autograd gradients for a gradOut)

def conv_cases():
    cases = []

    def conv(name, xs, ws, bias=True, grads=False, **kw):
        x = randn(*xs).requires_grad_(grads)
        w = (randn(*ws) * 0.5).requires_grad_(grads)
        b = randn(ws[0]).requires_grad_(grads) if bias else None
        y = F.conv2d(x, w, b, **kw)
        c = {'name': name, 'op': 'conv2d', 'params': {k: (list(v) if isinstance(v, tuple) else v) for k, v in kw.items()},
             'x': enc(x), 'w': enc(w), 'y': enc(y)}
        if bias:
            c['b'] = enc(b)
        if grads:
            gy = randn(*y.shape)
            y.backward(gy)
            c['gy'] = enc(gy)
            c['gx'] = enc(x.grad)
            c['gw'] = enc(w.grad)
            if bias:
                c['gb'] = enc(b.grad)
        cases.append(c)

    def convT(name, xs, ws, bias=True, grads=False, **kw):
        x = randn(*xs).requires_grad_(grads)
        w = (randn(*ws) * 0.5).requires_grad_(grads)
        groups = kw.get('groups', 1)
        b = randn(ws[1] * groups).requires_grad_(grads) if bias else None
        y = F.conv_transpose2d(x, w, b, **kw)
        c = {'name': name, 'op': 'convTranspose2d',
             'params': {k: (list(v) if isinstance(v, tuple) else v) for k, v in kw.items()},
             'x': enc(x), 'w': enc(w), 'y': enc(y)}
        if bias:
            c['b'] = enc(b)
        if grads:
            gy = randn(*y.shape)
            y.backward(gy)
            c['gy'] = enc(gy)
            c['gx'] = enc(x.grad)
            c['gw'] = enc(w.grad)
            if bias:
                c['gb'] = enc(b.grad)
        cases.append(c)

    conv('k3 s1 p1', (2, 4, 7, 6), (6, 4, 3, 3), grads=True, stride=1, padding=1)
    conv('k3 s2 p0', (2, 3, 9, 8), (5, 3, 3, 3), stride=2, padding=0)
    conv('k3 s2 p1 (even input)', (1, 3, 8, 8), (4, 3, 3, 3), stride=2, padding=1)
    conv('k3 dilation 2 p2', (1, 3, 9, 7), (4, 3, 3, 3), grads=True, stride=1, padding=2, dilation=2)
    conv('groups 2', (2, 4, 6, 5), (6, 2, 3, 3), grads=True, stride=1, padding=1, groups=2)
    conv('depthwise groups=C', (1, 4, 6, 6), (8, 1, 3, 3), stride=1, padding=1, groups=4)
    conv('k(2,3) s(2,1) p(0,1) d(1,2)', (2, 3, 7, 8), (4, 3, 2, 3), grads=True, stride=(2, 1), padding=(0, 1),
         dilation=(1, 2))
    conv('padding same k4 (asymmetric)', (1, 2, 6, 7), (3, 2, 4, 4), padding='same')
    conv('padding same k3 d2', (1, 2, 6, 7), (3, 2, 3, 3), padding='same', dilation=2)
    conv('padding valid', (1, 2, 6, 7), (3, 2, 3, 2), padding='valid')
    conv('1x1 no bias', (2, 8, 4, 3), (5, 8, 1, 1), bias=False, grads=True)
    conv('patchify k=s=4', (2, 3, 8, 12), (8, 3, 4, 4), stride=4)
    conv('kernel larger than input with padding', (1, 2, 3, 2), (2, 2, 5, 5), padding=2)

    convT('k4 s2 p1 (decoder upsample)', (2, 6, 5, 5), (6, 4, 4, 4), grads=True, stride=2, padding=1)
    convT('k4 s2 p1 no bias', (1, 3, 4, 3), (3, 2, 4, 4), bias=False, stride=2, padding=1)
    convT('k3 s2 p1 output_padding 1', (1, 3, 4, 5), (3, 4, 3, 3), grads=True, stride=2, padding=1, output_padding=1)
    convT('k3 s1 p0', (2, 2, 4, 4), (2, 3, 3, 3), stride=1, padding=0)
    convT('groups 2', (1, 4, 4, 3), (4, 3, 3, 3), grads=True, stride=2, padding=1, groups=2)
    convT('k(3,2) s(2,3) p(1,0) op(1,2)', (1, 2, 3, 4), (2, 3, 3, 2), stride=(2, 3), padding=(1, 0),
          output_padding=(1, 2))
    convT('dilation 2 k3 s1 p1', (1, 2, 5, 4), (2, 2, 3, 3), grads=True, stride=1, padding=1, dilation=2)
    convT('output_padding < dilation (s1 d2 op1)', (1, 2, 4, 4), (2, 2, 3, 3), stride=1, padding=0, dilation=2,
          output_padding=1)
    write('conv', cases)


# ---------------------------------------------------------------------------------------------
# interpolate (bilinear, bicubic; align_corners; antialias; size vs scale_factor)

def resize_cases():
    cases = []

    def interp(name, xs, size=None, scale_factor=None, mode='bilinear', align_corners=False, antialias=False,
               recompute_scale_factor=None):
        x = randn(*xs)
        y = F.interpolate(x, size=size, scale_factor=scale_factor, mode=mode, align_corners=align_corners,
                          antialias=antialias, recompute_scale_factor=recompute_scale_factor)
        p = {'mode': mode, 'alignCorners': align_corners, 'antialias': antialias}
        if size is not None:
            p['size'] = list(size)
        if scale_factor is not None:
            p['scaleFactor'] = list(scale_factor) if isinstance(scale_factor, tuple) else scale_factor
        if recompute_scale_factor is not None:
            p['recomputeScaleFactor'] = recompute_scale_factor
        cases.append({'name': name, 'op': 'interpolate', 'params': p, 'x': enc(x), 'y': enc(y)})

    for mode in ('bilinear', 'bicubic'):
        for ac in (False, True):
            for aa in (False, True):
                tag = f'{mode} ac={int(ac)} aa={int(aa)}'
                interp(f'{tag} 7x5->3x11', (2, 3, 7, 5), size=(3, 11), mode=mode, align_corners=ac, antialias=aa)
                interp(f'{tag} 5x9->17x4', (1, 2, 5, 9), size=(17, 4), mode=mode, align_corners=ac, antialias=aa)
                interp(f'{tag} 7x7->3x3', (1, 1, 7, 7), size=(3, 3), mode=mode, align_corners=ac, antialias=aa)
                interp(f'{tag} 5x5->17x17', (1, 1, 5, 5), size=(17, 17), mode=mode, align_corners=ac, antialias=aa)
                interp(f'{tag} 13x4->4x13 (factor > 3 down)', (1, 1, 13, 4), size=(4, 13), mode=mode,
                       align_corners=ac, antialias=aa)
                interp(f'{tag} 1x4->3x1', (1, 2, 1, 4), size=(3, 1), mode=mode, align_corners=ac, antialias=aa)
                interp(f'{tag} 6x5 same size', (1, 1, 6, 5), size=(6, 5), mode=mode, align_corners=ac, antialias=aa)
                interp(f'{tag} 6x5 scale (1.7,0.45)', (1, 2, 6, 5), scale_factor=(1.7, 0.45), mode=mode,
                       align_corners=ac, antialias=aa)
                interp(f'{tag} 6x5 scale (1.7,0.45) recompute', (1, 2, 6, 5), scale_factor=(1.7, 0.45), mode=mode,
                       align_corners=ac, antialias=aa, recompute_scale_factor=True)
                interp(f'{tag} 5x6 scale 1.1 (same size)', (1, 1, 5, 6), scale_factor=1.1, mode=mode,
                       align_corners=ac, antialias=aa)
    # 37 -> 14.1/37 like the positional embedding, but through plain interpolate
    interp('bicubic 9x9 scale 0.38378 (pos-embed-like)', (1, 2, 9, 9), scale_factor=(14.1 / 37, 14.1 / 37),
           mode='bicubic')

    # Large image cases: input = to_float_image(u8_pattern), only every k-th output row stored.
    def big(name, h, w, c, size, mode, antialias, tv=False, rows_step=13):
        u8 = u8_pattern(h, w, c)[None]
        x = to_float_image(u8).contiguous()
        if tv:
            y = TF.resize(x, size, interpolation=TF.InterpolationMode.BILINEAR if mode == 'bilinear'
                          else TF.InterpolationMode.BICUBIC, antialias=antialias)
            oh, ow = y.shape[-2:]
            y2 = F.interpolate(x, size=(oh, ow), mode=mode, align_corners=False, antialias=antialias)
            same = bool(torch.equal(y, y2))
            assert same, name
        else:
            y = F.interpolate(x, size=size, mode=mode, align_corners=False, antialias=antialias)
        rows = list(range(0, y.shape[-2], rows_step)) + [y.shape[-2] - 1]
        p = {'mode': mode, 'alignCorners': False, 'antialias': antialias, 'size': size if isinstance(size, list)
             else size}
        c = {'name': name, 'op': 'resizeTv' if tv else 'interpolate', 'params': p,
             'xGen': {'u8Pattern': [h, w, c]}, 'yShape': list(y.shape), 'rows': rows,
             'yRows': enc(y[:, :, rows, :].contiguous()),
             'ySum': float(y.double().sum()), 'yAbsSum': float(y.double().abs().sum())}
        if tv:
            c['equalsInterpolate'] = same
        cases.append(c)

    big('wall 65->224 bilinear', 65, 65, 3, [224, 224], 'bilinear', False)
    big('dino-wm encoder 224->196 bilinear antialias', 224, 224, 3, [196, 196], 'bilinear', True)
    big('torchvision Resize(196) antialias=True on 224x224', 224, 224, 3, 196, 'bilinear', True, tv=True)
    big('torchvision Resize(12) antialias=True on 30x40 (short edge)', 30, 40, 3, 12, 'bilinear', True, tv=True,
        rows_step=1)
    big('torchvision Resize([9,23]) bicubic antialias=True', 30, 40, 2, [9, 23], 'bicubic', True, tv=True,
        rows_step=1)
    big('bicubic 224->196 antialias', 224, 224, 1, [196, 196], 'bicubic', True)
    write('resize', cases)


# ---------------------------------------------------------------------------------------------
# DINOv2 interpolate_pos_encoding (facebookresearch/dinov2, dinov2/models/vision_transformer.py)

def dinov2_interpolate_pos(pos_embed, h_img, w_img, patch_size, interpolate_offset, interpolate_antialias):
    """Copy of DinoVisionTransformer.interpolate_pos_encoding for an image (B, C, h_img, w_img).

    In DINOv2 `B, nc, w, h = x.shape`, so their "w" is the image height: w0 (rows) = h_img // patch.
    """
    npatch = (h_img // patch_size) * (w_img // patch_size)
    N = pos_embed.shape[1] - 1
    if npatch == N and w_img == h_img:
        return pos_embed
    pos_embed = pos_embed.float()
    class_pos_embed = pos_embed[:, 0]
    patch_pos_embed = pos_embed[:, 1:]
    dim = pos_embed.shape[-1]
    w0 = h_img // patch_size
    h0 = w_img // patch_size
    M = int(math.sqrt(N))
    assert N == M * M
    kwargs = {}
    if interpolate_offset:
        sx = float(w0 + interpolate_offset) / M
        sy = float(h0 + interpolate_offset) / M
        kwargs['scale_factor'] = (sx, sy)
    else:
        kwargs['size'] = (w0, h0)
    patch_pos_embed = F.interpolate(
        patch_pos_embed.reshape(1, M, M, dim).permute(0, 3, 1, 2),
        mode='bicubic',
        antialias=interpolate_antialias,
        **kwargs,
    )
    assert (w0, h0) == patch_pos_embed.shape[-2:]
    patch_pos_embed = patch_pos_embed.permute(0, 2, 3, 1).view(1, -1, dim)
    return torch.cat((class_pos_embed.unsqueeze(0), patch_pos_embed), dim=1)


def dinov2_interpolate_pos_old(pos_embed, h_img, w_img, patch_size):
    """The original (2023-04) DINOv2 form: w0, h0 = w0 + 0.1, h0 + 0.1; scale_factor=(w0/sqrt(N), h0/sqrt(N))."""
    N = pos_embed.shape[1] - 1
    class_pos_embed = pos_embed[:, 0]
    patch_pos_embed = pos_embed[:, 1:]
    dim = pos_embed.shape[-1]
    w0 = h_img // patch_size
    h0 = w_img // patch_size
    w0, h0 = w0 + 0.1, h0 + 0.1
    patch_pos_embed = F.interpolate(
        patch_pos_embed.reshape(1, int(math.sqrt(N)), int(math.sqrt(N)), dim).permute(0, 3, 1, 2),
        scale_factor=(w0 / math.sqrt(N), h0 / math.sqrt(N)),
        mode='bicubic',
    )
    patch_pos_embed = patch_pos_embed.permute(0, 2, 3, 1).view(1, -1, dim)
    return torch.cat((class_pos_embed.unsqueeze(0), patch_pos_embed), dim=1)


def posembed_cases():
    cases = []

    def pe(name, M, dim, th, tw, offset, antialias, also_old=False):
        pos = randn(1, 1 + M * M, dim)
        y = dinov2_interpolate_pos(pos, th * 14, tw * 14, 14, offset, antialias)
        if also_old:
            y_old = dinov2_interpolate_pos_old(pos, th * 14, tw * 14, 14)
            assert torch.equal(y, y_old), name
        cases.append({'name': name, 'op': 'interpolatePosEmbed',
                      'params': {'grid': M, 'targetH': th, 'targetW': tw, 'offset': offset, 'antialias': antialias,
                                 'numPrefixTokens': 1},
                      'x': enc(pos), 'y': enc(y), 'equalsOldForm': also_old})

    pe('dinov2 vits14 37x37 -> 14x14 offset 0.1 (DINO-WM)', 37, 3, 14, 14, 0.1, False, also_old=True)
    pe('4x4 -> 3x3 offset 0.1', 4, 5, 3, 3, 0.1, False, also_old=True)
    pe('5x5 -> 3x7 offset 0.1 (non-square target)', 5, 2, 3, 7, 0.1, False, also_old=True)
    pe('37x37 -> 16x16 offset 0.1', 37, 2, 16, 16, 0.1, False, also_old=True)
    pe('6x6 -> 6x6 (same grid: returned unchanged)', 6, 2, 6, 6, 0.1, False)
    pe('37x37 -> 14x14 size form (offset 0), antialias', 37, 2, 14, 14, 0.0, True)
    pe('8x8 -> 5x11 size form (offset 0), no antialias', 8, 2, 5, 11, 0.0, False)
    write('posembed', cases)


# ---------------------------------------------------------------------------------------------
# uint8 image -> [-1, 1] float (DINO-WM preprocessing)

def image_cases():
    cases = []
    allv = np.arange(256, dtype=np.uint8).reshape(1, 4, 64, 1).repeat(3, axis=3)
    allv[..., 1] = 255 - allv[..., 1]
    y = to_float_image(allv)
    cases.append({'name': 'every u8 value, 3 channels', 'op': 'toFloatImage', 'x': enc(allv), 'y': enc(y)})
    u8 = u8_pattern(5, 7, 3)[None].repeat(2, axis=0)
    u8[1] = 255 - u8[1]
    cases.append({'name': 'pattern batch 2', 'op': 'toFloatImage', 'x': enc(u8), 'y': enc(to_float_image(u8))})
    write('image', cases)


# ---------------------------------------------------------------------------------------------
# Per-axis taps, probed: a batch of one-hot columns (N, 1, n_in, 1) resized to (n_out, 1) gives
# torch's weight matrix W[o, k] exactly (every other product is 0; the W axis is an exact copy).

def taps_cases():
    cases = []
    for n_in, n_out, mode, aa, ac in [(37, 14, 'bicubic', False, False), (7, 3, 'bicubic', False, False),
                                      (9, 31, 'bicubic', False, False), (6, 10, 'bicubic', False, True),
                                      (13, 4, 'bicubic', True, False), (13, 4, 'bilinear', True, False),
                                      (30, 12, 'bilinear', True, False), (65, 24, 'bilinear', False, False),
                                      (7, 3, 'bilinear', False, False), (5, 17, 'bilinear', False, True)]:
        x = torch.eye(n_in, dtype=torch.float32).reshape(n_in, 1, n_in, 1)
        y = F.interpolate(x, size=(n_out, 1), mode=mode, antialias=aa, align_corners=ac)
        w = y[:, 0, :, 0].t().contiguous()  # (n_out, n_in)
        cases.append({'name': f'{mode} aa={int(aa)} ac={int(ac)} {n_in}->{n_out}', 'op': 'axisTaps',
                      'params': {'inSize': n_in, 'outSize': n_out, 'mode': mode, 'antialias': aa, 'alignCorners': ac},
                      'w': enc(w)})
    write('taps', cases)


if __name__ == '__main__':
    conv_cases()
    resize_cases()
    posembed_cases()
    image_cases()
    taps_cases()
