#!/usr/bin/python3
"""Golden visualisation-decoder forward passes for test/nn/decoder-golden.test.ts (never run in CI).

Run with the system Python that has torch 1.13:  /usr/bin/python3 scripts/golden/decoder.py
Writes test/fixtures/decoder/:
  decoder.safetensors   the decoder's state_dict under our canonical names (decoder.conv_in.*,
                        decoder.res.{i}.conv{1,2}.*, decoder.up.{i}.*, decoder.conv_out.*)
  golden.json, golden.bin   latent tokens, PyTorch float32 images and their per-row error bounds
                        (golden.bin: the arrays' little-endian bytes back to back, golden.json the index)

The module is src/nn/decoder.ts written in torch (DINO-WM's VQVAE decoder structure at compact size,
quantize=False: Conv3x3 -> ResBlocks (ReLU, Conv3x3, ReLU, Conv1x1, + x) -> ReLU -> ConvTranspose2d(k4, s2,
p1) + ReLU per stage -> Conv1x1 to RGB), with decoder.ts's channel rule (c_{i+1} = max(min(C, 16),
floor(C / 2^{i+1})), residual width max(1, floor(C/2)), 2 residual blocks) and DINO-WM's token layout
(b (h w) c -> b c h w). Sizes: latent dim 24, a 3 x 3 patch grid (not a power of two), C = 40 so the
stages are 40 -> 20 -> 16 -> 16 (halving, then the floor of 16), 3 stages -> 24 px images, batch 2;
about 47k parameters, under 300 KB with the outputs.

Error budget: scripts/golden/model.py's first-order statistical model of float32 rounding (its EV
values, dot_local, add, check and row_tolerance are imported from there), extended here to convolutions:
  conv2d            im2col + a dot product of K = C_in kh kw (+1 bias) terms: model.py's linear on the
                    unfolded input (zero padding is exact)
  conv_transpose2d  every output sums at most 2 x 2 taps per input channel (k 4, stride 2) plus the bias:
                    dot_local with K = 4 C_in + 1 on the terms' squares, propagated through w^2
  relu              1-Lipschitz: the input's sigma passes through, except where the float64 value is more
                    than LAMBDA sigma below 0 (both float32 results are then exactly 0)
PyTorch's float32 output must sit within LAMBDA = 6 modelled standard deviations of the float64 one (checked
below); the stored tolerance is LAMBDA sqrt(2) sigma (two independent float32 implementations), maximised
over each image row (the last axis, W).
"""
import math, os, sys
from collections import OrderedDict

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import EV, LAMBDA, add, check, dot_local, linear, row_tolerance, rss, write_golden, write_safetensors  # noqa: E402

SEED = 20240614
FORMAT = 'quantwm-golden-decoder/1'
OUT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'fixtures', 'decoder'))

DV = 24          # latent (encoder token) width
GRID = 3         # patches per side
CHANNELS = 40    # C
STAGES = 3       # x2 upsampling stages: 3 * 2^3 = 24 px
RES_BLOCKS = 2   # src/nn/decoder.ts DECODER_RES_BLOCKS
BATCH = 2


def stage_channels(C, stages):
    out = [C]
    for i in range(stages):
        out.append(max(min(C, 16), C // 2 ** (i + 1)))
    return out


class ResBlock(torch.nn.Module):
    def __init__(self, C, Cr):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(C, Cr, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(Cr, C, 1)

    def forward(self, x):
        return x + self.conv2(F.relu(self.conv1(F.relu(x))))


class Decoder(torch.nn.Module):
    """src/nn/decoder.ts in torch; state_dict keys are its canonical names without the 'decoder.' prefix."""
    def __init__(self, dv, C, stages):
        super().__init__()
        ch = stage_channels(C, stages)
        Cr = max(1, C // 2)
        self.conv_in = torch.nn.Conv2d(dv, C, 3, padding=1)
        self.res = torch.nn.ModuleList([ResBlock(C, Cr) for _ in range(RES_BLOCKS)])
        self.up = torch.nn.ModuleList([torch.nn.ConvTranspose2d(ch[i], ch[i + 1], 4, stride=2, padding=1) for i in range(stages)])
        self.conv_out = torch.nn.Conv2d(ch[stages], 3, 1)

    def forward(self, z):
        h = self.conv_in(z)
        for r in self.res:
            h = r(h)
        h = F.relu(h)
        for u in self.up:
            h = F.relu(u(h))
        return self.conv_out(h)

    def forward_tokens(self, tokens):
        """DINO-WM: rearrange 'b (h w) c -> b c h w' then decode."""
        B, Pn, C = tokens.shape
        return self.forward(tokens.reshape(B, GRID, GRID, C).permute(0, 3, 1, 2))


def randomize(dec, g):
    """Weights N(0, gain^2 / terms): terms = the products summed per output (C_in kh kw for Conv2d, 4 C_in for
    a ConvTranspose2d(k4, s2), whose output sees 2 x 2 taps per input channel), gain sqrt 2 after a ReLU (He),
    1 for conv_in on raw latents, so activations keep their scale; biases 0.2 N(0, 1)."""
    with torch.no_grad():
        for name, p in dec.named_parameters():
            s = p.shape
            if name.endswith('bias'):
                v = 0.2 * torch.randn(s, generator=g)
            else:
                terms = 4 * s[0] if name.startswith('up.') else s[1] * s[2] * s[3]
                gain = 1.0 if name.startswith('conv_in.') else math.sqrt(2)
                v = torch.randn(s, generator=g) * gain / math.sqrt(terms)
            p.copy_(v)


# ------------------------------------------------------------------------------------------------
# float64 twin with the error model

def conv2d_ev(x, w, b, pad):
    """Conv2d stride 1 as im2col + model.py's linear: x EV (B, C, H, W), w (O, C, k, k) -> (B, O, H', W')."""
    B, C, H, W = x.v.shape
    O, _, k, _ = w.shape
    Ho, Wo = H + 2 * pad - k + 1, W + 2 * pad - k + 1
    cols = x.map(lambda t: F.unfold(t, k, padding=pad).transpose(1, 2))     # (B, L, C k k)
    y = linear(cols, w.reshape(O, -1), b)                                  # (B, L, O)
    return y.map(lambda t: t.transpose(1, 2).reshape(B, O, Ho, Wo))


def conv_transpose2d_ev(x, w, b):
    """ConvTranspose2d(k 4, stride 2, padding 1): x EV (B, Ci, H, W), w (Ci, Co, 4, 4) -> (B, Co, 2H, 2W)."""
    w = w.double()
    b = b.double()
    ct = lambda t, ww, bb=None: F.conv_transpose2d(t, ww, bb, stride=2, padding=1)
    v = ct(x.v, w, b)
    sq = ct(x.v * x.v, w * w, b * b)
    prop = torch.sqrt(ct(x.s * x.s, w * w))
    K = 4 * w.shape[0] + 1
    return EV(v, rss(prop, dot_local(K, sq, v)))


def relu_ev(x):
    dead = x.v < -LAMBDA * x.s
    return EV(x.v.clamp_min(0), x.s.masked_fill(dead, 0.0))


def decoder_ev(sd, z):
    """float64 + error twin of Decoder.forward; z EV (B, Dv, g, g)."""
    h = conv2d_ev(z, sd['conv_in.weight'], sd['conv_in.bias'], 1)
    for i in range(RES_BLOCKS):
        p = f'res.{i}.'
        r = conv2d_ev(relu_ev(h), sd[p + 'conv1.weight'], sd[p + 'conv1.bias'], 1)
        r = conv2d_ev(relu_ev(r), sd[p + 'conv2.weight'], sd[p + 'conv2.bias'], 0)
        h = add(h, r)
    h = relu_ev(h)
    for i in range(STAGES):
        h = relu_ev(conv_transpose2d_ev(h, sd[f'up.{i}.weight'], sd[f'up.{i}.bias']))
    return conv2d_ev(h, sd['conv_out.weight'], sd['conv_out.bias'], 0)


# ------------------------------------------------------------------------------------------------

def main():
    torch.manual_seed(SEED)
    g = torch.Generator().manual_seed(SEED)
    dec = Decoder(DV, CHANNELS, STAGES).eval()
    randomize(dec, g)
    sd = OrderedDict((k, v.detach().clone()) for k, v in dec.state_dict().items())

    os.makedirs(OUT, exist_ok=True)
    write_safetensors(os.path.join(OUT, 'decoder.safetensors'), [('decoder.' + k, v) for k, v in sd.items()])

    # latents: encoder-like tokens (unit scale, a per-channel offset so ReLUs see both signs unevenly)
    tokens = torch.randn(BATCH, GRID * GRID, DV, generator=g) + 0.3 * torch.randn(1, 1, DV, generator=g)
    with torch.no_grad():
        img32 = dec.forward_tokens(tokens)
        grid32 = dec(tokens.reshape(BATCH, GRID, GRID, DV).permute(0, 3, 1, 2).contiguous())
        zg = tokens.double().reshape(BATCH, GRID, GRID, DV).permute(0, 3, 1, 2)
        ev = decoder_ev(sd, EV(zg))
        ratio = check('decoder images (tokens, channels-last view as DINO-WM)', img32, ev)
        # torch picks another kernel (and summation order) for a contiguous NCHW input: same model, other bits
        check('decoder images (contiguous grid)', grid32, ev)
        print(f'max |tokens path - contiguous path| in torch itself: {(img32 - grid32).abs().max().item():.3e}')
    S = GRID * 2 ** STAGES
    assert img32.shape == (BATCH, 3, S, S)

    arrays = OrderedDict([('tokens', tokens), ('images', img32), ('images_tol', row_tolerance(ev))])
    meta = {
        'format': FORMAT, 'torch': torch.__version__, 'seed': SEED, 'generator': 'scripts/golden/decoder.py',
        'latentDim': DV, 'grid': GRID, 'decoder': {'channels': CHANNELS, 'stages': STAGES},
        'stageChannels': stage_channels(CHANNELS, STAGES), 'lambda': LAMBDA,
        'torch_ratio_to_bound': ratio,
        'params': sum(v.numel() for v in sd.values()),
        'max_abs_image': img32.abs().max().item(),
    }
    total = write_golden(OUT, arrays, meta)
    print(f'wrote {OUT}: {total} bytes, {meta["params"]} parameters, max |image| {meta["max_abs_image"]:.3f}')


if __name__ == '__main__':
    main()
