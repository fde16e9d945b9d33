#!/usr/bin/python3
"""Golden weight files for src/io (never run in CI; the TS tests read only the outputs).

Run with the system Python that has torch 1.13:  /usr/bin/python3 scripts/golden/checkpoints.py
Writes test/fixtures/checkpoints/*: real torch.save archives (state_dict and whole pickled
modules with DINO-WM's and DINOv2's module/class names), safetensors in torch-hub and Hugging
Face naming (written by the small writer below: the safetensors package is not installed),
dtype/view/layout variants, refused files (os.system pickles), and expected.json with every
tensor's name, dtype, shape, CRC-32 of its little-endian bytes after the conversion the TS
reader applies, and its first values as base64 float32/int32.

The model classes are written into a temporary package so that pickles reference the real
module paths (models.vit.ViTPredictor, dinov2.layers.block.NestedTensorBlock, ...). Dimensions
are reduced (encoder dim 16, 2 blocks, patch 14, 28 px; predictor dim 24 = 16 + 4 + 4) with
the structure and names of the full-size models, so everything stays well under 1 MB.
"""
import base64, io, json, os, pickle, struct, sys, tempfile, zipfile, zlib
from collections import OrderedDict

import torch

SEED = 20240611
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'fixtures', 'checkpoints')
OUT = os.path.normpath(OUT)

PKG = {
'dinov2/__init__.py': '',
'dinov2/layers/__init__.py': '',
'dinov2/models/__init__.py': '',
'dinov2/layers/patch_embed.py': '''
from torch import nn
class PatchEmbed(nn.Module):
    def __init__(self, img_size, patch_size, in_chans, embed_dim):
        super().__init__()
        self.img_size = (img_size, img_size)
        self.patch_size = (patch_size, patch_size)
        self.patches_resolution = (img_size // patch_size, img_size // patch_size)
        self.num_patches = self.patches_resolution[0] ** 2
        self.in_chans = in_chans
        self.embed_dim = embed_dim
        self.flatten_embedding = True
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)
        self.norm = nn.Identity()
''',
'dinov2/layers/attention.py': '''
from torch import nn
class Attention(nn.Module):
    def __init__(self, dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.attn_drop = nn.Dropout(0.0)
        self.proj = nn.Linear(dim, dim, bias=True)
        self.proj_drop = nn.Dropout(0.0)
class MemEffAttention(Attention):
    pass
''',
'dinov2/layers/mlp.py': '''
from torch import nn
class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(0.0)
''',
'dinov2/layers/layer_scale.py': '''
import torch
from torch import nn
class LayerScale(nn.Module):
    def __init__(self, dim, init_values=1.0):
        super().__init__()
        self.inplace = False
        self.gamma = nn.Parameter(init_values * torch.ones(dim))
''',
'dinov2/layers/block.py': '''
from functools import partial
from torch import nn
from dinov2.layers.attention import MemEffAttention
from dinov2.layers.mlp import Mlp
from dinov2.layers.layer_scale import LayerScale
class Block(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio=4):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = MemEffAttention(dim, num_heads)
        self.ls1 = LayerScale(dim)
        self.drop_path1 = nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, dim * mlp_ratio)
        self.ls2 = LayerScale(dim)
        self.drop_path2 = nn.Identity()
        self.sample_drop_ratio = 0.0
class NestedTensorBlock(Block):
    pass
''',
'dinov2/models/vision_transformer.py': '''
import torch
from torch import nn
from dinov2.layers.patch_embed import PatchEmbed
from dinov2.layers.block import NestedTensorBlock
class DinoVisionTransformer(nn.Module):
    def __init__(self, img_size, patch_size, embed_dim, depth, num_heads):
        super().__init__()
        self.num_features = self.embed_dim = embed_dim
        self.num_tokens = 1
        self.n_blocks = depth
        self.num_heads = num_heads
        self.patch_size = patch_size
        self.num_register_tokens = 0
        self.interpolate_antialias = False
        self.interpolate_offset = 0.1
        self.patch_embed = PatchEmbed(img_size, patch_size, 3, embed_dim)
        n = self.patch_embed.num_patches
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, n + 1, embed_dim))
        self.register_tokens = None
        self.chunked_blocks = False
        self.blocks = nn.ModuleList([NestedTensorBlock(embed_dim, num_heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.head = nn.Identity()
        self.mask_token = nn.Parameter(torch.zeros(1, embed_dim))
''',
'models/__init__.py': '',
'models/dino.py': '''
from torch import nn
class DinoV2Encoder(nn.Module):
    def __init__(self, name, feature_key, base_model):
        super().__init__()
        self.name = name
        self.base_model = base_model
        self.feature_key = feature_key
        self.emb_dim = base_model.num_features
        self.latent_ndim = 2
        self.patch_size = base_model.patch_size
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
''',
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
        rows.append(torch.cat([ones] * (i + 1) + [zeros] * (nwindow - i - 1), dim=1))
    return torch.cat(rows, dim=0).unsqueeze(0).unsqueeze(0)
class FeedForward(nn.Module):
    def __init__(self, dim, hidden_dim, dropout=0.):
        super().__init__()
        self.net = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, hidden_dim), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(hidden_dim, dim), nn.Dropout(dropout))
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
        # DINO-WM keeps the frame-causal mask as a plain attribute (created on cuda there)
        self.bias = generate_mask_matrix(NUM_PATCHES, NUM_FRAMES)
class Transformer(nn.Module):
    def __init__(self, dim, depth, heads, dim_head, mlp_dim, dropout=0.):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.layers = nn.ModuleList([])
        for _ in range(depth):
            self.layers.append(nn.ModuleList([Attention(dim, heads=heads, dim_head=dim_head, dropout=dropout),
                                              FeedForward(dim, mlp_dim, dropout=dropout)]))
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
''',
'models/vqvae.py': '''
import torch
from torch import nn
class Quantize(nn.Module):
    def __init__(self, dim, n_embed, decay=0.99, eps=1e-5):
        super().__init__()
        self.dim = dim
        self.n_embed = n_embed
        self.decay = decay
        self.eps = eps
        embed = torch.randn(dim, n_embed)
        self.register_buffer("embed", embed)
        self.register_buffer("cluster_size", torch.zeros(n_embed))
        self.register_buffer("embed_avg", embed.clone())
class ResBlock(nn.Module):
    def __init__(self, in_channel, channel):
        super().__init__()
        self.conv = nn.Sequential(nn.ReLU(), nn.Conv2d(in_channel, channel, 3, padding=1), nn.ReLU(inplace=True),
                                  nn.Conv2d(channel, in_channel, 1))
class Decoder(nn.Module):
    def __init__(self, in_channel, out_channel, channel, n_res_block, n_res_channel, stride):
        super().__init__()
        blocks = [nn.Conv2d(in_channel, channel, 3, padding=1)]
        for i in range(n_res_block):
            blocks.append(ResBlock(channel, n_res_channel))
        blocks.append(nn.ReLU(inplace=True))
        assert stride == 4
        blocks.extend([nn.ConvTranspose2d(channel, channel // 2, 4, stride=2, padding=1), nn.ReLU(inplace=True),
                       nn.ConvTranspose2d(channel // 2, out_channel, 4, stride=2, padding=1)])
        self.blocks = nn.Sequential(*blocks)
class VQVAE(nn.Module):
    def __init__(self, in_channel=3, channel=128, n_res_block=2, n_res_channel=32, emb_dim=64, n_embed=512, decay=0.99, quantize=True):
        super().__init__()
        self.quantize = quantize
        self.quantize_b = Quantize(emb_dim, n_embed)
        if not quantize:
            for p in self.quantize_b.parameters():
                p.requires_grad = False
        self.upsample_b = Decoder(emb_dim, emb_dim, channel, n_res_block, n_res_channel, stride=4)
        self.dec = Decoder(emb_dim, in_channel, channel, n_res_block, n_res_channel, stride=4)
        self.info = f"in_channel: {in_channel}, channel: {channel}"
''',
'accelerate/__init__.py': '',
'accelerate/state.py': '''
import enum
class DistributedType(str, enum.Enum):
    NO = "NO"
    MULTI_GPU = "MULTI_GPU"
class AcceleratorState:
    def __init__(self):
        self.distributed_type = DistributedType.NO
        self.num_processes = 1
        self.device = __import__("torch").device("cpu")
class GradientState:
    def __init__(self):
        self.sync_gradients = True
''',
'accelerate/optimizer.py': '''
class AcceleratedOptimizer:
    def __init__(self, optimizer, state, grad_state):
        self.optimizer = optimizer
        self.scaler = None
        self.accelerator_state = state
        self.gradient_state = grad_state
        self.device_placement = True
        self._is_overflow = False
''',
'thirdparty/__init__.py': '',
'thirdparty/things.py': '''
class Widget:
    def __init__(self, name, weight):
        self.name = name
        self.weight = weight
        self.tags = {"a", "b"}
''',
'evil/__init__.py': '',
'evil/payload.py': '''
import os
class Payload:
    def __reduce__(self):
        return (os.system, ("echo this would run in python",))
class EvalPayload:
    def __reduce__(self):
        return (eval, ("1+1",))
''',
}


def randomize(module, gen):
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
        for name, b in module.named_buffers():
            if b.dtype.is_floating_point:
                b.copy_(torch.randn(b.shape, generator=gen))


def ts_view(t):
    """The tensor the TS reader produces (dtype string, contiguous LE bytes) and its first values."""
    t = t.detach().contiguous()
    if t.dtype in (torch.float32, torch.float16, torch.bfloat16, torch.float64):
        c = t.float().contiguous()
        dt = 'f32'
    elif t.dtype in (torch.int64, torch.int32, torch.int16):
        c = t.int().contiguous()
        dt = 'i32'
    elif t.dtype == torch.int8:
        c = t.contiguous()
        dt = 'i8'
    else:  # uint8, bool
        c = t.to(torch.uint8).contiguous()
        dt = 'u8'
    raw = c.numpy().tobytes()
    head = c.reshape(-1)[:4]
    if dt == 'f32':
        first = base64.b64encode(head.numpy().astype('<f4').tobytes()).decode()
    else:
        first = base64.b64encode(head.to(torch.int32).numpy().astype('<i4').tobytes()).decode()
    return {'dtype': dt, 'shape': list(t.shape), 'crc32': zlib.crc32(raw) & 0xffffffff, 'first': first,
            'source_dtype': str(t.dtype).replace('torch.', '')}


def describe(named):
    return [dict(name=n, **ts_view(t)) for n, t in named]


ST_DTYPE = {torch.float32: 'F32', torch.float16: 'F16', torch.bfloat16: 'BF16', torch.float64: 'F64', torch.int64: 'I64',
            torch.int32: 'I32', torch.int16: 'I16', torch.int8: 'I8', torch.uint8: 'U8', torch.bool: 'BOOL'}


def write_safetensors(path, named, metadata=None):
    """Reference layout: header padded with spaces to 8, entries sorted by alignment desc then name."""
    items = [(n, t.detach().contiguous()) for n, t in named]
    items.sort(key=lambda x: (-x[1].element_size(), x[0]))
    header = {}
    if metadata is not None:
        header['__metadata__'] = metadata
    off = 0
    blobs = []
    for n, t in items:
        if t.dtype == torch.bfloat16:
            b = t.view(torch.int16).numpy().tobytes()
        else:
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


def hub_to_hf(sd):
    out = OrderedDict()
    for k, v in sd.items():
        if k == 'cls_token': out['embeddings.cls_token'] = v
        elif k == 'mask_token': out['embeddings.mask_token'] = v
        elif k == 'pos_embed': out['embeddings.position_embeddings'] = v
        elif k.startswith('patch_embed.proj.'): out['embeddings.patch_embeddings.projection.' + k.split('.')[-1]] = v
        elif k.startswith('norm.'): out['layernorm.' + k.split('.')[-1]] = v
        elif k.startswith('blocks.'):
            _, i, rest = k.split('.', 2)
            p = f'encoder.layer.{i}.'
            if rest.startswith('attn.qkv.'):
                kind = rest.split('.')[-1]
                q, kk, vv = v.chunk(3, dim=0)
                out[p + 'attention.attention.query.' + kind] = q.clone()
                out[p + 'attention.attention.key.' + kind] = kk.clone()
                out[p + 'attention.attention.value.' + kind] = vv.clone()
            elif rest.startswith('attn.proj.'): out[p + 'attention.output.dense.' + rest.split('.')[-1]] = v
            elif rest == 'ls1.gamma': out[p + 'layer_scale1.lambda1'] = v
            elif rest == 'ls2.gamma': out[p + 'layer_scale2.lambda1'] = v
            else: out[p + rest] = v
        else:
            raise KeyError(k)
    return out


def storage_types(path):
    """key -> element size, from the archive's own pickle (trusted: we just wrote it)."""
    sizes = {}
    with zipfile.ZipFile(path) as z:
        pkl = [n for n in z.namelist() if n.endswith('/data.pkl')][0]
        class U(pickle.Unpickler):
            def find_class(self, m, n):
                return getattr(sys.modules[m], n) if m in sys.modules and hasattr(sys.modules[m], n) else super().find_class(m, n)
            def persistent_load(self, pid):
                _, st, key, _loc, numel = pid
                s = st(numel)
                sizes[key] = torch.empty(0, dtype=s.dtype).element_size()
                return s
        U(io.BytesIO(z.read(pkl))).load()
    return sizes


def rewrite_zip(src, dst, prefix, extra, compress, byteorder=None):
    """Re-pack a torch archive under another prefix, with extra 2.x records, optional deflate and byte swapping."""
    sizes = storage_types(src) if byteorder == 'big' else {}
    with zipfile.ZipFile(src) as zi, zipfile.ZipFile(dst, 'w') as zo:
        old = zi.namelist()[0].split('/')[0]
        for n in zi.namelist():
            data = zi.read(n)
            rel = n[len(old) + 1:]
            if byteorder == 'big' and rel.startswith('data/'):
                es = sizes[rel[5:]]
                if es > 1:
                    data = b''.join(data[i:i + es][::-1] for i in range(0, len(data), es))
            zo.writestr(f'{prefix}/{rel}', data, compress_type=zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED)
        for rel, data in extra.items():
            zo.writestr(f'{prefix}/{rel}', data)


def main():
    tmp = tempfile.mkdtemp(prefix='qwm_golden_')
    for rel, src in PKG.items():
        p = os.path.join(tmp, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, 'w') as f:
            f.write(src)
    sys.path.insert(0, tmp)
    from dinov2.models.vision_transformer import DinoVisionTransformer
    from models.dino import DinoV2Encoder
    from models.vit import ViTPredictor
    from models.vqvae import VQVAE
    from models.proprio import ProprioceptiveEmbedding
    from accelerate.optimizer import AcceleratedOptimizer
    from accelerate.state import AcceleratorState, GradientState
    from thirdparty.things import Widget
    from evil.payload import Payload, EvalPayload

    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith(('.pth', '.safetensors', '.json')):
            os.remove(os.path.join(OUT, f))
    gen = torch.Generator().manual_seed(SEED)
    expected = {'torch': torch.__version__, 'seed': SEED, 'files': {}}

    # 1. reduced DINOv2 ViT (hub naming): dim 16, 2 blocks, 2 heads, patch 14, 28 px -> 2x2 grid
    vit = DinoVisionTransformer(img_size=28, patch_size=14, embed_dim=16, depth=2, num_heads=2)
    randomize(vit, gen)
    sd = vit.state_dict()
    torch.save(sd, os.path.join(OUT, 'dinov2_tiny.pth'))
    expected['files']['dinov2_tiny.pth'] = {'tensors': describe(sd.items())}
    write_safetensors(os.path.join(OUT, 'dinov2_tiny_hub.safetensors'), sd.items())
    expected['files']['dinov2_tiny_hub.safetensors'] = {'tensors': describe(sd.items())}
    hf = hub_to_hf(sd)
    write_safetensors(os.path.join(OUT, 'dinov2_tiny_hf.safetensors'), hf.items(), {'format': 'pt'})
    expected['files']['dinov2_tiny_hf.safetensors'] = {'tensors': describe(hf.items()), 'metadata': {'format': 'pt'}}

    # 2. DINO-WM whole-module checkpoint (train_encoder=True variant so the encoder is present)
    enc = DinoV2Encoder('dinov2_vits14', 'x_norm_patchtokens', vit)
    pred = ViTPredictor(num_patches=4, num_frames=2, dim=24, depth=2, heads=2, mlp_dim=32, dim_head=8, dropout=0.1)
    dec = VQVAE(channel=8, n_embed=8, n_res_block=1, n_res_channel=4, quantize=False, emb_dim=16)
    act = ProprioceptiveEmbedding(num_frames=2, tubelet_size=1, in_chans=10, emb_dim=4)
    prop = ProprioceptiveEmbedding(num_frames=2, tubelet_size=1, in_chans=4, emb_dim=4)
    for m in (pred, dec, act, prop):
        randomize(m, gen)
    popt = torch.optim.AdamW(pred.parameters(), lr=5e-4)
    pred.zero_grad()
    (sum((p ** 2).sum() for p in pred.parameters())).backward()
    popt.step()
    dopt = torch.optim.Adam(dec.parameters(), lr=3e-4)
    ckpt = {
        'epoch': 7,
        'encoder': enc,
        'predictor': pred,
        'predictor_optimizer': AcceleratedOptimizer(popt, AcceleratorState(), GradientState()),
        'decoder': dec,
        'decoder_optimizer': AcceleratedOptimizer(dopt, AcceleratorState(), GradientState()),
        'action_encoder': act,
        'proprio_encoder': prop,
    }
    torch.save(ckpt, os.path.join(OUT, 'model_latest.pth'))
    named, extras = [], []
    for key in ('encoder', 'predictor', 'decoder', 'action_encoder', 'proprio_encoder'):
        m = ckpt[key]
        named += [(f'{key}.{n}', t) for n, t in m.state_dict().items()]
        for mn, sub in m.named_modules():
            for an, av in vars(sub).items():
                if isinstance(av, torch.Tensor) and not an.startswith('_'):
                    extras.append((f'{key}.{mn}.{an}' if mn else f'{key}.{an}', av))
    expected['files']['model_latest.pth'] = {
        'tensors': describe(named), 'extras': describe(extras),
        'skipped': ['predictor_optimizer', 'decoder_optimizer'],
        'config': {'encoder': {'dim': 16, 'depth': 2, 'heads': 2, 'patchSize': 14, 'inChans': 3, 'mlpDim': 64, 'posTokens': 5},
                   'predictor': {'dim': 24, 'depth': 2, 'heads': 2, 'dimHead': 8, 'innerDim': 16, 'mlpDim': 32, 'numPositions': 8,
                                 'numFrames': 2, 'numPatches': 4},
                   'actionEncoder': {'inDim': 10, 'embDim': 4}, 'proprioEncoder': {'inDim': 4, 'embDim': 4},
                   'decoder': {'channel': 8, 'nResBlock': 1, 'nResChannel': 4, 'embDim': 16, 'nEmbed': 8, 'inChannel': 3,
                               'upsampleStride': 4, 'decodeStride': 4}},
    }

    # 3. dtypes, views, shared storage, 0-d and empty tensors
    base = torch.randn(4, 6, generator=gen)
    g = torch.Generator().manual_seed(SEED + 1)
    views = OrderedDict([
        ('f32', torch.randn(3, 5, generator=g)),
        ('f16', (torch.randn(2, 3, generator=g) * 100).half()),
        ('bf16', torch.randn(2, 3, generator=g).bfloat16()),
        ('f64', torch.randn(5, generator=g).double()),
        ('i64', torch.tensor([-(2 ** 31), -1, 0, 1, 2 ** 31 - 1], dtype=torch.int64)),
        ('i32', torch.tensor([[7, -7], [2 ** 30, -(2 ** 30)]], dtype=torch.int32)),
        ('i16', torch.tensor([-32768, 32767, 5], dtype=torch.int16)),
        ('i8', torch.tensor([-128, 127, 0, 3], dtype=torch.int8)),
        ('u8', torch.tensor([0, 255, 17], dtype=torch.uint8)),
        ('bool', torch.tensor([True, False, True])),
        ('scalar', torch.tensor(3.5)),
        ('empty', torch.zeros(0, 4)),
        ('transposed', base.t()),
        ('sliced', base[1:3, 2:5]),
        ('strided', base[:, ::2]),
        ('expanded', torch.randn(1, 3, generator=g).expand(2, 3)),
        ('shared_a', base),
    ])
    views['shared_b'] = views['shared_a'].view(6, 4)
    f16sub = torch.tensor([6.0e-8, -6.0e-8, 65504.0, -0.0, 1e-5], dtype=torch.float16)
    views['f16_edge'] = f16sub
    torch.save(views, os.path.join(OUT, 'views_dtypes.pth'))
    expected['files']['views_dtypes.pth'] = {'tensors': describe(views.items())}
    st = [(k, v) for k, v in views.items() if k not in ('transposed', 'sliced', 'strided', 'expanded', 'shared_b')]
    write_safetensors(os.path.join(OUT, 'dtypes.safetensors'), st, {'note': 'dtype coverage'})
    expected['files']['dtypes.safetensors'] = {'tensors': describe(st), 'metadata': {'note': 'dtype coverage'}}

    # 4. protocol 4 pickle (FRAME, MEMOIZE, STACK_GLOBAL, SHORT_BINUNICODE)
    p4 = OrderedDict([('a.weight', torch.randn(3, 2, generator=g)), ('a.bias', torch.randn(3, generator=g))])
    torch.save(p4, os.path.join(OUT, 'state_p4.pth'), pickle_protocol=4)
    expected['files']['state_p4.pth'] = {'tensors': describe(p4.items())}

    # 5. 2.x-style archive layouts re-packed from views_dtypes.pth
    extra = {'byteorder': 'little', '.format_version': '1', '.storage_alignment': '64', '.data/serialization_id': '0' * 40}
    rewrite_zip(os.path.join(OUT, 'views_dtypes.pth'), os.path.join(OUT, 'archive_deflate.pth'), 'archive', extra, True)
    expected['files']['archive_deflate.pth'] = expected['files']['views_dtypes.pth']
    big = dict(extra, byteorder='big')
    rewrite_zip(os.path.join(OUT, 'views_dtypes.pth'), os.path.join(OUT, 'bigendian.pth'), 'archive', big, False, byteorder='big')
    expected['files']['bigendian.pth'] = expected['files']['views_dtypes.pth']

    # 6. placeholder: an unknown class holding a tensor, next to a plain tensor
    w = Widget('gizmo', torch.randn(2, 2, generator=g))
    ph = {'widget': w, 'plain': torch.randn(3, generator=g), 'meta': {'step': 3, 'name': 'run'}}
    torch.save(ph, os.path.join(OUT, 'placeholder.pth'))
    expected['files']['placeholder.pth'] = {'tensors': describe([('plain', ph['plain'])]), 'skipped': ['widget']}

    # 7. refused: os.system / eval REDUCE, protocol 2 (GLOBAL) and protocol 4 (STACK_GLOBAL)
    torch.save({'w': torch.zeros(2), 'x': Payload()}, os.path.join(OUT, 'malicious_system.pth'))
    torch.save({'w': torch.zeros(2), 'x': EvalPayload()}, os.path.join(OUT, 'malicious_eval_p4.pth'), pickle_protocol=4)
    expected['files']['malicious_system.pth'] = {'refused': ['posix.system']}
    expected['files']['malicious_eval_p4.pth'] = {'refused': ['builtins.eval']}

    with open(os.path.join(OUT, 'expected.json'), 'w') as f:
        json.dump(expected, f, indent=1)
    total = 0
    for fn in sorted(os.listdir(OUT)):
        sz = os.path.getsize(os.path.join(OUT, fn))
        total += sz
        print(f'{sz:8d}  {fn}')
    print(f'{total:8d}  total')


if __name__ == '__main__':
    main()
