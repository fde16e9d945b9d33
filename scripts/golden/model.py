#!/usr/bin/python3
"""Golden DINO-WM forward passes for test/nn/golden.test.ts (never run in CI; the TS test reads only the outputs).

Run with the system Python that has torch 1.13:  /usr/bin/python3 scripts/golden/model.py
Writes test/fixtures/model/:
  encoder_hub.safetensors   a reduced DINOv2 ViT state_dict in torch-hub names (cls_token, pos_embed,
                            mask_token, patch_embed.proj.*, blocks.N.*, norm.*)
  dinowm.safetensors        predictor / action_encoder / proprio_encoder in DINO-WM checkpoint names
                            (predictor.transformer.layers.i.{0,1}.*, *_encoder.patch_embed.*)
  model_latest.pth          torch.save of a DINO-WM-style checkpoint dict {epoch, predictor, action_encoder,
                            proprio_encoder} holding the whole pickled modules (models.vit.ViTPredictor,
                            models.proprio.ProprioceptiveEmbedding), frame-causal mask attributes included
  golden.json, golden.bin   inputs, PyTorch float32 outputs and their per-token error bounds (below);
                            golden.bin is the arrays' little-endian bytes back to back, golden.json the index

The modules are written here from the sources (reference/quantwm-dinowm-spec.md B.2-B.5):
  encoder   facebookresearch/dinov2 vision_transformer: patch embed Conv2d(k=s=14), CLS token, learned
            pos embed trained at a 5x5 grid and interpolated bicubic (antialias off) with scale_factor
            ((4 + 0.1)/5, (4 + 0.1)/5) to the 4x4 grid of a 56 px input; pre-LN blocks (eps 1e-6) with
            LayerScale; qkv with bias, q * head_dim^-0.5; erf GELU; final norm; patch tokens out
  predictor DINO-WM models/vit.py ViTPredictor: x + pos[:, :n]; layers.i.0 = Attention (own LayerNorm,
            to_qkv without bias, dots * dim_head^-0.5, masked_fill(mask == 0, -inf), to_out Linear+Dropout),
            layers.i.1 = FeedForward (LN, Linear, GELU, Dropout, Linear, Dropout); final norm (eps 1e-5)
  wm        DINO-WM visual_world_model.py encode (u8 -> /255 -> Normalize(0.5, 0.5) -> Resize(56, bilinear,
            antialias) -> encoder; proprio and action Conv1d(k=1) encoders tiled over the patches,
            channels [visual | proprio | action]) and rollout (the B.5 loop)
Dimensions are reduced (encoder dim 48, 2 blocks, 2 heads of 24, MLP 96, patch 14, 56 px from 64 px
observations; predictor dim 68 = 48 + 10 + 10, 2 blocks, 4 heads of 16, MLP 64, num_hist 3) so that
all files stay under 1 MB.

Error budget. Next to every float32 forward the script runs the same computation in float64 on the
same weights and carries, op by op, a first-order statistical model of the float32 rounding error
(Higham & Mary 2019: every rounding an independent error of at most u = 2^-24 relative): sigma, the
standard deviation of (float32 result - exact result), through each op's Jacobian plus its own
roundings (dot_local, layer_norm, softmax, gelu below say how much each adds). A rigorous
componentwise bound (gamma_K sum|terms| propagated through |W|) grows by ~sqrt(K) per Linear and is
10^6 times the values after two blocks, so it cannot serve. PyTorch's CPU kernels and ours both follow
the model, so they differ by sqrt(2) sigma; golden.bin stores LAMBDA sqrt(2) sigma (LAMBDA = 6),
maximised over each token's channels. The script first checks |torch32 - float64| <= LAMBDA sigma on
every output and prints the largest and rms ratios.
"""
import json, math, os, struct, sys, tempfile
from collections import OrderedDict

import torch
import torch.nn.functional as F
import torchvision
import torchvision.transforms as T

SEED = 20240613
FORMAT = 'quantwm-golden-model/1'
OUT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'fixtures', 'model'))

IMAGE = 64            # env observation side (DINO-WM: 224)
ENC = dict(input=56, patch=14, dim=48, depth=2, heads=2, mlp=96, pos_grid=5, offset=0.1, eps=1e-6)
PRED = dict(depth=2, heads=4, dim_head=16, mlp=64, num_hist=3, eps=1e-5)
PROPRIO_DIM, ENV_ACTION_DIM, FRAMESKIP, EMB = 4, 2, 5, 10
ACTION_DIM = ENV_ACTION_DIM * FRAMESKIP
GRID = ENC['input'] // ENC['patch']
P = GRID * GRID
D = ENC['dim'] + 2 * EMB
PROPRIO_MEAN = [0.5, -1.25, 2.0, 0.125]
PROPRIO_STD = [2.0, 0.5, 1.5, 4.0]
H_ROLL = 5            # actions per rollout: encode + 4 steps with action replacement + 1 final step

# DINO-WM's own modules, written into a temporary package so the pickle names models.vit.ViTPredictor etc.
PKG = {
'models/__init__.py': '',
'models/vit.py': '''
import torch
from torch import nn
NUM_FRAMES = 1
NUM_PATCHES = 1
def generate_mask_matrix(npatch, nwindow):
    zeros = torch.zeros(npatch, npatch)
    ones = torch.ones(npatch, npatch)
    rows = []
    for i in range(nwindow):
        row = torch.cat([ones] * (i + 1) + [zeros] * (nwindow - i - 1), dim=1)
        rows.append(row)
    return torch.cat(rows, dim=0).unsqueeze(0).unsqueeze(0)
class FeedForward(nn.Module):
    def __init__(self, dim, hidden_dim, dropout=0.):
        super().__init__()
        self.net = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, hidden_dim), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(hidden_dim, dim), nn.Dropout(dropout))
    def forward(self, x):
        return self.net(x)
class Attention(nn.Module):
    def __init__(self, dim, heads=8, dim_head=64, dropout=0.):
        super().__init__()
        inner_dim = dim_head * heads
        self.heads = heads
        self.scale = dim_head ** -0.5
        self.norm = nn.LayerNorm(dim)
        self.attend = nn.Softmax(dim=-1)
        self.dropout = nn.Dropout(dropout)
        self.to_qkv = nn.Linear(dim, inner_dim * 3, bias=False)
        self.to_out = nn.Sequential(nn.Linear(inner_dim, dim), nn.Dropout(dropout))
        self.bias = generate_mask_matrix(NUM_PATCHES, NUM_FRAMES)  # DINO-WM: .to('cuda')
    def forward(self, x):
        B, T, C = x.size()
        x = self.norm(x)
        qkv = self.to_qkv(x).chunk(3, dim=-1)
        # rearrange 'b n (h d) -> b h n d'
        q, k, v = [t.reshape(B, T, self.heads, -1).permute(0, 2, 1, 3) for t in qkv]
        dots = torch.matmul(q, k.transpose(-1, -2)) * self.scale
        dots = dots.masked_fill(self.bias[:, :, :T, :T] == 0, float('-inf'))
        attn = self.attend(dots)
        attn = self.dropout(attn)
        out = torch.matmul(attn, v)
        out = out.permute(0, 2, 1, 3).reshape(B, T, -1)
        return self.to_out(out)
class Transformer(nn.Module):
    def __init__(self, dim, depth, heads, dim_head, mlp_dim, dropout=0.):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.layers = nn.ModuleList([])
        for _ in range(depth):
            self.layers.append(nn.ModuleList([Attention(dim, heads=heads, dim_head=dim_head, dropout=dropout),
                                              FeedForward(dim, mlp_dim, dropout=dropout)]))
    def forward(self, x):
        for attn, ff in self.layers:
            x = attn(x) + x
            x = ff(x) + x
        return self.norm(x)
class ViTPredictor(nn.Module):
    def __init__(self, *, num_patches, num_frames, dim, depth, heads, mlp_dim, pool='cls', dim_head=64, dropout=0., emb_dropout=0.):
        super().__init__()
        global NUM_FRAMES, NUM_PATCHES
        NUM_FRAMES = num_frames
        NUM_PATCHES = num_patches
        self.pos_embedding = nn.Parameter(torch.randn(1, num_frames * num_patches, dim))
        self.dropout = nn.Dropout(emb_dropout)
        self.transformer = Transformer(dim, depth, heads, dim_head, mlp_dim, dropout)
        self.pool = pool
    def forward(self, x):
        b, n, _ = x.shape
        x = x + self.pos_embedding[:, :n]
        x = self.dropout(x)
        x = self.transformer(x)
        return x
''',
'models/proprio.py': '''
from torch import nn
class ProprioceptiveEmbedding(nn.Module):
    def __init__(self, num_frames=16, tubelet_size=1, in_chans=8, emb_dim=384, use_3d_pos=False):
        super().__init__()
        self.num_frames = num_frames
        self.tubelet_size = tubelet_size
        self.in_chans = in_chans
        self.emb_dim = emb_dim
        self.patch_embed = nn.Conv1d(in_chans, emb_dim, kernel_size=tubelet_size, stride=tubelet_size)
    def forward(self, x):
        x = x.permute(0, 2, 1)
        x = self.patch_embed(x)
        return x.permute(0, 2, 1)
''',
}


# ------------------------------------------------------------------------------------------------
# DINOv2 ViT (dinov2/models/vision_transformer.py, dinov2/layers/*), hub parameter names

class LayerScale(torch.nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.gamma = torch.nn.Parameter(torch.ones(dim))
    def forward(self, x):
        return x * self.gamma

class HubAttention(torch.nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.num_heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = torch.nn.Linear(dim, 3 * dim, bias=True)
        self.proj = torch.nn.Linear(dim, dim, bias=True)
    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        attn = (q @ k.transpose(-2, -1)).softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj(x)

class HubMlp(torch.nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = torch.nn.Linear(dim, hidden)
        self.act = torch.nn.GELU()
        self.fc2 = torch.nn.Linear(hidden, dim)
    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))

class HubBlock(torch.nn.Module):
    def __init__(self, dim, heads, hidden, eps):
        super().__init__()
        self.norm1 = torch.nn.LayerNorm(dim, eps=eps)
        self.attn = HubAttention(dim, heads)
        self.ls1 = LayerScale(dim)
        self.norm2 = torch.nn.LayerNorm(dim, eps=eps)
        self.mlp = HubMlp(dim, hidden)
        self.ls2 = LayerScale(dim)
    def forward(self, x):
        x = x + self.ls1(self.attn(self.norm1(x)))
        return x + self.ls2(self.mlp(self.norm2(x)))

class PatchEmbed(torch.nn.Module):
    def __init__(self, patch, dim):
        super().__init__()
        self.proj = torch.nn.Conv2d(3, dim, kernel_size=patch, stride=patch)
    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)

class DinoVisionTransformer(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        dim = c['dim']
        self.patch_size = c['patch']
        self.interpolate_offset = c['offset']
        self.patch_embed = PatchEmbed(c['patch'], dim)
        self.cls_token = torch.nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = torch.nn.Parameter(torch.zeros(1, c['pos_grid'] ** 2 + 1, dim))
        self.blocks = torch.nn.ModuleList([HubBlock(dim, c['heads'], c['mlp'], c['eps']) for _ in range(c['depth'])])
        self.norm = torch.nn.LayerNorm(dim, eps=c['eps'])
        self.mask_token = torch.nn.Parameter(torch.zeros(1, dim))

    def interpolate_pos_encoding(self, x, w, h):
        npatch = x.shape[1] - 1
        N = self.pos_embed.shape[1] - 1
        if npatch == N and w == h:
            return self.pos_embed
        pos_embed = self.pos_embed.float()
        class_pos_embed = pos_embed[:, 0]
        patch_pos_embed = pos_embed[:, 1:]
        dim = x.shape[-1]
        w0 = w // self.patch_size
        h0 = h // self.patch_size
        M = int(math.sqrt(N))
        assert N == M * M
        sx = float(w0 + self.interpolate_offset) / M
        sy = float(h0 + self.interpolate_offset) / M
        patch_pos_embed = F.interpolate(patch_pos_embed.reshape(1, M, M, dim).permute(0, 3, 1, 2),
                                        mode='bicubic', antialias=False, scale_factor=(sx, sy))
        assert (w0, h0) == patch_pos_embed.shape[-2:]
        patch_pos_embed = patch_pos_embed.permute(0, 2, 3, 1).view(1, -1, dim)
        return torch.cat((class_pos_embed.unsqueeze(0), patch_pos_embed), dim=1)

    def forward_features(self, x):
        B, nc, w, h = x.shape
        x = self.patch_embed(x)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        x = x + self.interpolate_pos_encoding(x, w, h)
        for blk in self.blocks:
            x = blk(x)
        x_norm = self.norm(x)
        return {'x_norm_clstoken': x_norm[:, 0], 'x_norm_patchtokens': x_norm[:, 1:]}


# ------------------------------------------------------------------------------------------------
# Weights

def randomize_encoder(enc, g):
    """Non-trivial values everywhere: LN affine around 1 / 0, LayerScale in [0.05, 1], biases non-zero."""
    with torch.no_grad():
        for name, p in enc.named_parameters():
            shape = p.shape
            if name.endswith('gamma'):
                v = 0.05 + 0.95 * torch.rand(shape, generator=g)
            elif 'norm' in name and name.endswith('weight'):
                v = 1 + 0.3 * torch.randn(shape, generator=g)
            elif name.endswith('bias'):
                v = 0.2 * torch.randn(shape, generator=g)
            elif name in ('cls_token', 'pos_embed', 'mask_token'):
                v = 0.5 * torch.randn(shape, generator=g)
            else:  # Linear / conv weights: unit-variance outputs for unit-variance inputs
                fan_in = shape[1] * (shape[2] * shape[3] if len(shape) == 4 else 1)
                v = torch.randn(shape, generator=g) / math.sqrt(fan_in)
            p.copy_(v)


def randomize_predictor(mods, g):
    with torch.no_grad():
        for mod in mods:
            for name, p in mod.named_parameters():
                shape = p.shape
                if name == 'pos_embedding':
                    v = torch.randn(shape, generator=g)  # DINO-WM's init
                elif ('norm' in name or 'net.0' in name) and name.endswith('weight'):
                    v = 1 + 0.3 * torch.randn(shape, generator=g)
                elif name.endswith('bias'):
                    v = 0.2 * torch.randn(shape, generator=g)
                else:
                    v = torch.randn(shape, generator=g) / math.sqrt(shape[1] * (shape[2] if len(shape) == 3 else 1))
                p.copy_(v)


ST_DTYPE = {torch.float32: 'F32', torch.uint8: 'U8'}


def write_safetensors(path, named):
    """Reference layout: 8-byte-padded JSON header, entries sorted by alignment desc then name."""
    items = sorted(((n, t.detach().contiguous()) for n, t in named), key=lambda x: (-x[1].element_size(), x[0]))
    header, blobs, off = {}, [], 0
    for n, t in items:
        b = t.numpy().tobytes()
        header[n] = {'dtype': ST_DTYPE[t.dtype], 'shape': list(t.shape), 'data_offsets': [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    hj = json.dumps(header, separators=(',', ':')).encode()
    hj += b' ' * ((8 - len(hj) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)


# ------------------------------------------------------------------------------------------------
# float64 forward with a first-order statistical error model (see the module docstring)

U = 2.0 ** -24


class EV:
    """A float64 value v and s >= 0, the modelled standard deviation of (float32 computation - v)."""
    def __init__(self, v, s=None):
        self.v = v
        self.s = torch.zeros_like(v) if s is None else s
    def map(self, f):
        return EV(f(self.v), f(self.s))


def rss(*xs):
    """root of the sum of squares: independent contributions"""
    return torch.sqrt(sum(x * x for x in xs))


def cat(xs, dim):
    return EV(torch.cat([x.v for x in xs], dim), torch.cat([x.s for x in xs], dim))


def dot_local(K, sq_terms, y):
    """A sum of K products rounded K times in any order: each partial sum s_k carries |delta_k| <= u, so the
    error is sum_k delta_k s_k; with independent deltas (std <= u) and partial sums of any order modelled by
    s_k^2 <= sum_i term_i^2 + y^2, std <= u sqrt(K (sum term^2 + y^2))."""
    return U * torch.sqrt(K * (sq_terms + y * y))


def linear(x, w, b=None):
    """y = x W^T + b: propagated W^2 s_x^2, local dot_local(K (+1))."""
    w = w.double()
    K = w.shape[1]
    v = x.v @ w.T
    sq = (x.v * x.v) @ (w * w).T
    if b is not None:
        b = b.double()
        v = v + b
        sq = sq + b * b
    return EV(v, rss(torch.sqrt((x.s * x.s) @ (w * w).T), dot_local(K + (b is not None), sq, v)))


def matmul(a, b):
    """a (..., N, K) @ b (..., K, M), both carrying errors."""
    K = a.v.shape[-1]
    v = a.v @ b.v
    a2, b2 = a.v * a.v, b.v * b.v
    return EV(v, rss(torch.sqrt((a.s * a.s) @ b2 + a2 @ (b.s * b.s)), dot_local(K, a2 @ b2, v)))


def add(a, b):
    v = a.v + b.v
    return EV(v, rss(a.s, b.s, U * v))


def mulc(x, g):
    """x * g for an exact float32 constant g."""
    g = g.double()
    v = x.v * g
    return EV(v, rss(x.s * g.abs(), U * v))


def scale(x, f):
    """x * f with f a Python float (rounded to float32 by one side, kept float64 by the other): 2 roundings."""
    v = x.v * f
    return EV(v, rss(x.s * abs(f), U * v, U * v))


def layer_norm(x, g, b, eps):
    """
    y = (x - m) rstd g + b over the last axis (D). Propagated exactly through the Jacobian
    J_ij = g_i rstd (delta_ij - (1 + xh_i xh_j) / D). Local (PyTorch: float32 Welford moments, then
    (x rstd - m rstd) g + b; ours: float64 moments): the mean as a D-term sum (dot_local), the
    variance relative error u sqrt(D) (2 + |m| / sd) (the subtraction of a large mean), rstd = half
    of it + 2u, the x rstd - m rstd cancellation u rstd (|x| + |m|), then the g and b roundings.
    """
    g = g.double()
    b = b.double()
    Dn = x.v.shape[-1]
    m = x.v.mean(-1, keepdim=True)
    c = x.v - m
    var = (c * c).mean(-1, keepdim=True)
    rstd = 1 / torch.sqrt(var + eps)
    xh = c * rstd
    v = xh * g + b
    e2 = x.s * x.s
    S0 = e2.sum(-1, keepdim=True)
    S1 = (xh * e2).sum(-1, keepdim=True)
    S2 = (xh * xh * e2).sum(-1, keepdim=True)
    aii = (1 + xh * xh) / Dn
    prop2 = (g * rstd) ** 2 * (e2 * (1 - 2 * aii) + (S0 + 2 * xh * S1 + xh * xh * S2) / Dn ** 2)
    d_mean = dot_local(Dn, (x.v * x.v).sum(-1, keepdim=True) / Dn ** 2, m)
    rel_var = U * math.sqrt(Dn) * (2 + m.abs() * rstd)
    local = rss(g * rstd * d_mean, g * xh * (rel_var / 2 + 2 * U), g * rstd * U * (x.v.abs() + m.abs()), U * g * xh, U * v)
    return EV(v, torch.sqrt(prop2.clamp_min(0) + local * local))


def gelu(x):
    """x Phi(x): propagated |Phi + x phi| s; local 4u|y| + 2u|x| (1 + erf(x/sqrt2) cancels for x << 0)."""
    xv = x.v
    phi_cdf = 0.5 * torch.erfc(-xv / math.sqrt(2))
    v = xv * phi_cdf
    d = phi_cdf + xv * torch.exp(-0.5 * xv * xv) / math.sqrt(2 * math.pi)
    return EV(v, rss(d * x.s, 4 * U * v, 2 * U * xv))


def softmax(s, visible=None):
    """
    Softmax over the last axis (visible: bool mask broadcast to s; hidden entries exactly 0).
    Propagated through J_ij = p_i (delta_ij - p_j); local (float32: s - m rounding, exp within 1 ulp, a
    sum of N positive terms, a division): p_i (u sqrt(N) + 3u + u|s_i - m| + u sum_j p_j |s_j - m|).
    """
    sv = s.v if visible is None else s.v.masked_fill(~visible, float('-inf'))
    N = s.v.shape[-1]
    m = sv.amax(-1, keepdim=True)
    p = torch.softmax(sv, -1)
    e2 = s.s * s.s if visible is None else (s.s * s.s).masked_fill(~visible, 0.0)
    dist = (sv - m).abs()
    dist = dist if visible is None else dist.masked_fill(~visible, 0.0)
    prop2 = p * p * (e2 * (1 - 2 * p) + (p * p * e2).sum(-1, keepdim=True))
    local = p * U * (math.sqrt(N) + 3 + dist + (p * dist).sum(-1, keepdim=True))
    return EV(p, torch.sqrt(prop2.clamp_min(0) + local * local))


def attention(x, wqkv, bqkv, wout, bout, heads, scale_at, visible=None):
    """Multi-head attention on x (B, N, C); 'q' scales q (DINOv2), 'dots' scales q.k (DINO-WM)."""
    B, N, _ = x.v.shape
    inner = wqkv.shape[0] // 3
    dh = inner // heads
    qkv = linear(x, wqkv, bqkv).map(lambda t: t.reshape(B, N, 3, heads, dh).permute(2, 0, 3, 1, 4))
    q, k, v = (qkv.map(lambda t, i=i: t[i]) for i in range(3))
    s = dh ** -0.5
    if scale_at == 'q':
        q = scale(q, s)
    dots = matmul(q, k.map(lambda t: t.transpose(-1, -2)))
    if scale_at == 'dots':
        dots = scale(dots, s)
    o = matmul(softmax(dots, visible), v).map(lambda t: t.permute(0, 2, 1, 3).reshape(B, N, inner))
    return linear(o, wout, bout)


def bicubic_matrix(M, g, offset):
    """(g*g, M*M) float64 weights of the hub's pos-embed interpolation, from one-hot inputs."""
    eye = torch.eye(M * M, dtype=torch.float64).reshape(M * M, 1, M, M)
    s = (g + offset) / M
    out = F.interpolate(eye, mode='bicubic', antialias=False, scale_factor=(s, s))
    return out.reshape(M * M, g * g).T


def encoder_ev(sd, x):
    """float64 + bound twin of DinoVisionTransformer.forward_features(x)['x_norm_patchtokens']; x: EV (B,3,S,S)."""
    c = ENC
    B = x.v.shape[0]
    p = c['patch']
    patches = x.map(lambda t: t.unfold(2, p, p).unfold(3, p, p).permute(0, 2, 3, 1, 4, 5).reshape(B, P, 3 * p * p))
    tok = linear(patches, sd['patch_embed.proj.weight'].reshape(c['dim'], -1), sd['patch_embed.proj.bias'])
    cls = EV(sd['cls_token'].double().expand(B, 1, c['dim']))
    h = cat([cls, tok], 1)
    # positional embedding: CLS kept, the patch grid interpolated (bicubic: 16 taps summed in sequence,
    # float32 coefficients within ~4u each)
    pos = sd['pos_embed'].double()[0]
    Mi = bicubic_matrix(c['pos_grid'], GRID, c['offset'])
    pv = Mi @ pos[1:]
    sq = (Mi * Mi) @ (pos[1:] * pos[1:])
    pe = rss(dot_local(16, sq, pv), 4 * U * torch.sqrt(sq))
    pos_ev = EV(torch.cat([pos[:1], pv], 0).unsqueeze(0), torch.cat([torch.zeros_like(pos[:1]), pe], 0).unsqueeze(0))
    h = add(h, pos_ev.map(lambda t: t.expand(B, -1, -1)))
    for i in range(c['depth']):
        b = f'blocks.{i}.'
        a = attention(layer_norm(h, sd[b + 'norm1.weight'], sd[b + 'norm1.bias'], c['eps']),
                      sd[b + 'attn.qkv.weight'], sd[b + 'attn.qkv.bias'], sd[b + 'attn.proj.weight'], sd[b + 'attn.proj.bias'],
                      c['heads'], 'q')
        h = add(h, mulc(a, sd[b + 'ls1.gamma']))
        m = linear(gelu(linear(layer_norm(h, sd[b + 'norm2.weight'], sd[b + 'norm2.bias'], c['eps']),
                               sd[b + 'mlp.fc1.weight'], sd[b + 'mlp.fc1.bias'])),
                   sd[b + 'mlp.fc2.weight'], sd[b + 'mlp.fc2.bias'])
        h = add(h, mulc(m, sd[b + 'ls2.gamma']))
    h = layer_norm(h, sd['norm.weight'], sd['norm.bias'], c['eps'])
    return h.map(lambda t: t[:, 1:])


def predictor_ev(sd, z):
    """float64 + bound twin of ViTPredictor on z: EV (B, T, P, D) -> (B, T, P, D)."""
    B, Tn = z.v.shape[:2]
    n = Tn * P
    x = add(z.map(lambda t: t.reshape(B, n, D)), EV(sd['pos_embedding'].double()[:, :n]))
    frame = torch.arange(n) // P
    visible = frame[None, :] <= frame[:, None]
    for i in range(PRED['depth']):
        a = f'transformer.layers.{i}.0.'
        f = f'transformer.layers.{i}.1.net.'
        y = attention(layer_norm(x, sd[a + 'norm.weight'], sd[a + 'norm.bias'], PRED['eps']),
                      sd[a + 'to_qkv.weight'], None, sd[a + 'to_out.0.weight'], sd[a + 'to_out.0.bias'],
                      PRED['heads'], 'dots', visible)
        x = add(y, x)
        y = linear(gelu(linear(layer_norm(x, sd[f + '0.weight'], sd[f + '0.bias'], PRED['eps']), sd[f + '1.weight'], sd[f + '1.bias'])),
                   sd[f + '4.weight'], sd[f + '4.bias'])
        x = add(y, x)
    x = layer_norm(x, sd['transformer.norm.weight'], sd['transformer.norm.bias'], PRED['eps'])
    return x.map(lambda t: t.reshape(B, Tn, P, D))


def image_ev(u8):
    """u8 (B, H, W, 3) -> [-1, 1] (B, 3, H, W) -> Resize(56, bilinear, antialias), float64 + error model.
    to [-1, 1]: fl(fl(fl(x/255) - 0.5)/0.5) is within 2u(1 + |y|). Resize: two separable passes of <= 5
    non-negative normalised taps (sum w^2 s^2 <= interp(s^2)), each pass's rounding and float32 weights
    within 8u interp(|x|) in all."""
    x = u8.permute(0, 3, 1, 2).double()
    v = x / 255 * 2 - 1
    s0 = 2 * U * (1 + v.abs())
    S = ENC['input']
    rs = lambda t: F.interpolate(t, size=(S, S), mode='bilinear', align_corners=False, antialias=True)
    return EV(rs(v), rss(torch.sqrt(rs(s0 * s0)), 8 * U * rs(v.abs())))


def proprio_ev(p):
    """(p - mean) / std: float32 rounds twice, ours once: 2u|y|."""
    v = (p.double() - torch.tensor(PROPRIO_MEAN, dtype=torch.float64)) / torch.tensor(PROPRIO_STD, dtype=torch.float64)
    return EV(v, 2 * U * v.abs())


def tile(x):
    """(B, T, E) -> (B, T, P, E)"""
    return x.map(lambda t: t.unsqueeze(2).expand(t.shape[0], t.shape[1], P, t.shape[2]))


def rollout_ev(enc_sd, wm_sd, u8, proprio, actions):
    """float64 + bound twin of the B.5 rollout (obs_0 one frame per sample, H actions)."""
    Hn = actions.shape[1]
    vis = encoder_ev(enc_sd, image_ev(u8)).map(lambda t: t.unsqueeze(1))                  # (B, 1, P, 48)
    prop = linear(proprio_ev(proprio).map(lambda t: t.unsqueeze(1)), wm_sd['proprio_encoder.patch_embed.weight'][:, :, 0],
                  wm_sd['proprio_encoder.patch_embed.bias'])                                # (B, 1, 10)
    act = linear(EV(actions.double()), wm_sd['action_encoder.patch_embed.weight'][:, :, 0], wm_sd['action_encoder.patch_embed.bias'])
    z = cat([vis, tile(prop), tile(act.map(lambda t: t[:, :1]))], 3)
    psd = {k[len('predictor.'):]: v for k, v in wm_sd.items() if k.startswith('predictor.')}
    nh = PRED['num_hist']
    for t in range(Hn - 1):
        zp = predictor_ev(psd, z.map(lambda a: a[:, -nh:]))
        new = zp.map(lambda a: a[:, -1:, :, :D - EMB])
        new = cat([new, tile(act.map(lambda a, t=t: a[:, t + 1:t + 2]))], 3)
        z = cat([z, new], 1)
    zp = predictor_ev(psd, z.map(lambda a: a[:, -nh:]))
    return cat([z, zp.map(lambda a: a[:, -1:])], 1)


# ------------------------------------------------------------------------------------------------
# float32 reference (the PyTorch modules)

def preprocess32(u8):
    x = u8.permute(0, 3, 1, 2).float() / 255
    x = T.Normalize(mean=[0.5] * 3, std=[0.5] * 3)(x)
    return T.Resize(ENC['input'], antialias=True)(x)  # torchvision >= 0.17 default for DINO-WM


class WM32:
    """DINO-WM's VWorldModel.encode / predict / rollout (concat_dim 1, repeats 1) around our modules."""
    def __init__(self, enc, pred, act_enc, prop_enc):
        self.enc, self.pred, self.act_enc, self.prop_enc = enc, pred, act_enc, prop_enc
        self.num_hist = PRED['num_hist']

    def encode(self, u8, proprio, act):
        B, Tn = u8.shape[:2]
        visual = self.enc.forward_features(preprocess32(u8.reshape(B * Tn, *u8.shape[2:])))['x_norm_patchtokens']
        visual = visual.reshape(B, Tn, P, -1)
        p = (proprio - torch.tensor(PROPRIO_MEAN)) / torch.tensor(PROPRIO_STD)
        pe = self.prop_enc(p)
        ae = self.act_enc(act)
        return torch.cat([visual, pe.unsqueeze(2).expand(-1, -1, P, -1), ae.unsqueeze(2).expand(-1, -1, P, -1)], 3)

    def predict(self, z):
        B, Tn = z.shape[:2]
        return self.pred(z.reshape(B, Tn * P, D)).reshape(B, Tn, P, D)

    def replace_actions_from_z(self, z, act):
        ae = self.act_enc(act)
        z = z.clone()
        z[..., -EMB:] = ae.unsqueeze(2).expand(-1, -1, P, -1)
        return z

    def rollout(self, u8, proprio, act):
        n0 = u8.shape[1]
        z = self.encode(u8, proprio, act[:, :n0])
        action = act[:, n0:]
        t = 0
        while t < action.shape[1]:
            z_pred = self.predict(z[:, -self.num_hist:])
            z_new = self.replace_actions_from_z(z_pred[:, -1:], action[:, t:t + 1])
            z = torch.cat([z, z_new], 1)
            t += 1
        z_pred = self.predict(z[:, -self.num_hist:])
        return torch.cat([z, z_pred[:, -1:]], 1)


# ------------------------------------------------------------------------------------------------

LAMBDA = 6.0  # tolerance = LAMBDA standard deviations of the modelled error (per element)


def check(name, y32, ev):
    """PyTorch's float32 result must sit within LAMBDA modelled standard deviations of the float64 one."""
    d = (y32.double() - ev.v).abs()
    ratio = (d / ev.s.clamp_min(1e-300)).max().item()
    rel = (ev.s / ev.v.abs().clamp_min(1e-30)).median().item()
    print(f'{name}: max |torch32 - f64| = {d.max().item():.3e}, max |torch32 - f64| / sigma = {ratio:.3f}, '
          f'median sigma/|y| = {rel:.2e}, max sigma = {ev.s.max().item():.3e}, rms |torch32 - f64| / sigma = '
          f'{torch.sqrt(((d / ev.s) ** 2).mean()).item():.3f}')
    assert ratio <= LAMBDA, f'{name}: PyTorch float32 falls outside the modelled error'
    return ratio


def row_tolerance(ev):
    """|ours - torch| tolerance: LAMBDA sqrt(2) sigma (two independent implementations), maximised over
    the last axis (one value per token), rounded up to float32."""
    t = (LAMBDA * math.sqrt(2) * ev.s).amax(-1).float()
    return torch.nextafter(t, torch.full_like(t, math.inf))


def write_golden(out, arrays, meta):
    """golden.bin: the arrays' little-endian bytes back to back (f32 or u8, each start 4-byte aligned);
    golden.json: meta plus 'arrays', their index {name: {dtype, shape, offset, bytes}}. Returns the folder's size."""
    index, blob = OrderedDict(), bytearray()
    for name, t in arrays.items():
        t = t.detach().contiguous()
        b = t.numpy().astype('<f4' if t.dtype == torch.float32 else 'u1').tobytes()
        index[name] = {'dtype': 'f32' if t.dtype == torch.float32 else 'u8', 'shape': list(t.shape), 'offset': len(blob), 'bytes': len(b)}
        blob += b
        blob += b'\0' * ((4 - len(blob) % 4) % 4)
    with open(os.path.join(out, 'golden.bin'), 'wb') as f:
        f.write(bytes(blob))
    with open(os.path.join(out, 'golden.json'), 'w') as f:
        json.dump(dict(meta, arrays=index), f, indent=1)
        f.write('\n')
    return sum(os.path.getsize(os.path.join(out, n)) for n in os.listdir(out))


def main():
    torch.manual_seed(SEED)
    g = torch.Generator().manual_seed(SEED)
    tmp = tempfile.mkdtemp(prefix='qwm_golden_model_')
    for rel, src in PKG.items():
        path = os.path.join(tmp, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(src)
    sys.path.insert(0, tmp)
    from models.vit import ViTPredictor
    from models.proprio import ProprioceptiveEmbedding

    enc = DinoVisionTransformer(ENC).eval()
    randomize_encoder(enc, g)
    pred = ViTPredictor(num_patches=P, num_frames=PRED['num_hist'], dim=D, depth=PRED['depth'], heads=PRED['heads'],
                        mlp_dim=PRED['mlp'], dim_head=PRED['dim_head'], dropout=0.1).eval()
    act_enc = ProprioceptiveEmbedding(num_frames=PRED['num_hist'], tubelet_size=1, in_chans=ACTION_DIM, emb_dim=EMB).eval()
    prop_enc = ProprioceptiveEmbedding(num_frames=PRED['num_hist'], tubelet_size=1, in_chans=PROPRIO_DIM, emb_dim=EMB).eval()
    randomize_predictor([pred, act_enc, prop_enc], g)

    os.makedirs(OUT, exist_ok=True)
    enc_sd = OrderedDict((k, v.detach().clone()) for k, v in enc.state_dict().items())
    write_safetensors(os.path.join(OUT, 'encoder_hub.safetensors'), enc_sd.items())
    wm_sd = OrderedDict()
    for prefix, mod in (('predictor.', pred), ('action_encoder.', act_enc), ('proprio_encoder.', prop_enc)):
        for k, v in mod.state_dict().items():
            wm_sd[prefix + k] = v.detach().clone()
    write_safetensors(os.path.join(OUT, 'dinowm.safetensors'), wm_sd.items())
    torch.save({'epoch': 7, 'predictor': pred, 'action_encoder': act_enc, 'proprio_encoder': prop_enc},
               os.path.join(OUT, 'model_latest.pth'))
    psd = {k[len('predictor.'):]: v for k, v in wm_sd.items() if k.startswith('predictor.')}

    # inputs: two 64 px images with structure (gradients + noise), proprio, normalised actions
    yy, xx = torch.meshgrid(torch.arange(IMAGE), torch.arange(IMAGE), indexing='ij')
    base = torch.stack([(xx * 4) % 256, (yy * 3 + xx) % 256, ((xx - yy).abs() * 5) % 256], -1).float()
    imgs = []
    for i in range(2):
        noise = torch.randint(0, 256, (IMAGE, IMAGE, 3), generator=g).float()
        imgs.append(((0.6 * base.roll(17 * i, 1) + 0.4 * noise)).clamp(0, 255).to(torch.uint8))
    images = torch.stack(imgs)                                           # (2, 64, 64, 3) u8
    wm32 = WM32(enc, pred, act_enc, prop_enc)
    ratios = {}
    with torch.no_grad():
        # (a) encoder: u8 -> [-1, 1] -> resize 64 -> 56 -> ViT -> patch tokens
        tok32 = enc.forward_features(preprocess32(images))['x_norm_patchtokens']
        tok_ev = encoder_ev(enc_sd, image_ev(images))
        ratios['encoder'] = check('encoder tokens', tok32, tok_ev)
        # (b) predictor on (B=2, T=3, P, D)
        pred_in = torch.randn(2, PRED['num_hist'], P, D, generator=g)
        pred32 = wm32.predict(pred_in)
        pred_ev = predictor_ev(psd, EV(pred_in.double()))
        ratios['predictor'] = check('predictor', pred32, pred_ev)
        # (c) rollout: samples [image 0, image 1, image 0] with their own proprio and actions
        ridx = [0, 1, 0]
        r_images = images[ridx]
        r_proprio = torch.tensor(PROPRIO_MEAN) + torch.tensor(PROPRIO_STD) * torch.randn(3, 1, PROPRIO_DIM, generator=g)
        r_proprio[2] = r_proprio[0]
        r_actions = torch.randn(3, H_ROLL, ACTION_DIM, generator=g)
        roll32 = wm32.rollout(r_images.unsqueeze(1), r_proprio, r_actions)
        roll_ev = rollout_ev(enc_sd, wm_sd, r_images, r_proprio[:, 0], r_actions)
        ratios['rollout'] = check('rollout z', roll32, roll_ev)
        # the torch reference must load the same module back from the pickle
        ck = torch.load(os.path.join(OUT, 'model_latest.pth'))
        assert torch.equal(ck['predictor'](pred_in.reshape(2, -1, D)).reshape(pred32.shape), pred32)

    arrays = OrderedDict([
        ('images', images),
        ('encoder_tokens', tok32), ('encoder_tol', row_tolerance(tok_ev)),
        ('predictor_in', pred_in), ('predictor_out', pred32), ('predictor_tol', row_tolerance(pred_ev)),
        ('rollout_proprio', r_proprio[:, 0].contiguous()), ('rollout_actions', r_actions),
        ('rollout_z', roll32), ('rollout_tol', row_tolerance(roll_ev)),
    ])
    meta = {
        'format': FORMAT, 'torch': torch.__version__, 'torchvision': torchvision.__version__, 'seed': SEED,
        'generator': 'scripts/golden/model.py',
        'config': {
            'name': 'golden', 'imageSize': IMAGE,
            'encoder': {'inputSize': ENC['input'], 'patchSize': ENC['patch'], 'dim': ENC['dim'], 'depth': ENC['depth'],
                        'heads': ENC['heads'], 'mlpDim': ENC['mlp'], 'lnEps': ENC['eps'], 'posGrid': ENC['pos_grid'],
                        'posOffset': ENC['offset']},
            'predictor': {'numFrames': PRED['num_hist'], 'depth': PRED['depth'], 'heads': PRED['heads'],
                          'dimHead': PRED['dim_head'], 'mlpDim': PRED['mlp'], 'lnEps': PRED['eps']},
            'proprioDim': PROPRIO_DIM, 'envActionDim': ENV_ACTION_DIM, 'frameskip': FRAMESKIP,
            'actionEmbDim': EMB, 'proprioEmbDim': EMB, 'decoder': None,
        },
        'stats': {'proprioMean': PROPRIO_MEAN, 'proprioStd': PROPRIO_STD, 'actionMean': [0.0, 0.0], 'actionStd': [1.0, 1.0]},
        'rollout_images': ridx,
        'torch_ratio_to_bound': ratios,
    }
    print(f'wrote {OUT}: {write_golden(OUT, arrays, meta)} bytes')


if __name__ == '__main__':
    main()
