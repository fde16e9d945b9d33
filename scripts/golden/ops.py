"""Golden fixtures for the reference ops (src/tensor/ops) and AdamW (src/tensor/autograd/optim.ts).

Run with the system Python that has torch 1.13 CPU (and mpmath for erf):
    /usr/bin/python3 scripts/golden/ops.py
Writes test/fixtures/ops/<case>.json. Every tensor is stored exactly: little-endian float32
(or float64 / int32 where named) bytes, base64. Tests read only the JSON; CI never runs Python.
"""
import base64, json, os, sys
import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'fixtures', 'ops')
FORMAT = 'quantwm-golden-ops-1'
SEED = 20240601


def enc(t):
    if isinstance(t, torch.Tensor):
        t = t.detach().cpu().numpy()
    a = np.asarray(t).copy(order='C')  # keeps 0-d shapes (ascontiguousarray would make them 1-d)
    dt = {np.dtype('float32'): 'f32', np.dtype('float64'): 'f64', np.dtype('int32'): 'i32',
          np.dtype('int64'): 'i32', np.dtype('bool'): 'u8', np.dtype('uint8'): 'u8'}[a.dtype]
    if a.dtype == np.int64:
        a = a.astype('<i4')
    if a.dtype == np.bool_:
        a = a.astype(np.uint8)
    le = a.astype(a.dtype.newbyteorder('<'))
    return {'dtype': dt, 'shape': list(a.shape), 'b64': base64.b64encode(le.tobytes()).decode('ascii')}


def write(name, cases, **meta):
    os.makedirs(OUT, exist_ok=True)
    doc = {'format': FORMAT, 'torch': torch.__version__, 'seed': SEED, 'generator': 'scripts/golden/ops.py', **meta,
           'cases': cases}
    path = os.path.join(OUT, name + '.json')
    with open(path, 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
    print(path, os.path.getsize(path), 'bytes')


def case(**tensors):
    return {k: (enc(v) if isinstance(v, (torch.Tensor, np.ndarray)) else v) for k, v in tensors.items()}


torch.manual_seed(SEED)
g = torch.Generator().manual_seed(SEED)


def randn(*shape, scale=1.0, mean=0.0):
    return (torch.randn(*shape, generator=g) * scale + mean).float()


# ---- erf / erfc (high precision, float64) ----------------------------------------------------
def erf_table():
    import mpmath
    mpmath.mp.prec = 200
    rs = np.random.RandomState(SEED)
    xs = np.concatenate([
        rs.uniform(-0.84375, 0.84375, 120), rs.uniform(0.84, 1.26, 60), -rs.uniform(0.84, 1.26, 30),
        rs.uniform(1.25, 1 / 0.35, 60), rs.uniform(1 / 0.35, 6, 60), -rs.uniform(1.25, 6, 60),
        rs.uniform(6, 27.2, 40), -rs.uniform(6, 27.2, 20),
        np.sign(rs.uniform(-1, 1, 40)) * 10 ** rs.uniform(-300, -1, 40),
        [0.0, 0.84375, -0.84375, 1.25, -1.25, 1 / 0.35, 6.0, -6.0, 0.25, 1.0, 2.0 ** -28, 2.0 ** -57, 5e-324],
    ]).astype(np.float64)
    erf = np.array([float(mpmath.erf(mpmath.mpf(x))) for x in xs])
    erfc = np.array([float(mpmath.erfc(mpmath.mpf(x))) for x in xs])
    write('erf', {'table': case(x=xs, erf=erf, erfc=erfc)}, reference='mpmath %s, 200-bit' % mpmath.__version__)


# ---- GELU (exact) ----------------------------------------------------------------------------
def gelu():
    x = torch.cat([randn(200, scale=3.0), torch.linspace(-12, 12, 97),
                   torch.tensor([0.0, -0.0, 1e-30, -1e-30, 80.0, -80.0, 1e30, -1e30, 5.5, -5.5, -8.0, -9.5])]).float()
    import mpmath
    mpmath.mp.prec = 200
    y64 = np.array([float(0.5 * mpmath.mpf(float(v)) * mpmath.erfc(-mpmath.mpf(float(v)) / mpmath.sqrt(2))) for v in x.numpy()])
    write('gelu', {'mixed': case(x=x, y=F.gelu(x), y64=y64)})


# ---- LayerNorm ---------------------------------------------------------------------------------
def layernorm():
    cases = {}
    for eps, tag in [(1e-6, 'eps1e-6'), (1e-5, 'eps1e-5')]:
        D = 384
        x = randn(3, D)
        gm = randn(D, scale=0.5, mean=1.0)
        bt = randn(D, scale=0.1)
        cases[tag] = case(x=x, gamma=gm, beta=bt, eps=eps, y=F.layer_norm(x, (D,), gm, bt, eps))
        for mean, std in [(1000.0, 1.0), (-3e4, 0.5), (10.0, 1e-3)]:
            x = randn(2, 64, scale=std, mean=mean)
            gm = randn(64, scale=0.5, mean=1.0)
            bt = randn(64, scale=0.1)
            cases['%s_mean%g_std%g' % (tag, mean, std)] = case(x=x, gamma=gm, beta=bt, eps=eps, mean=mean, std=std,
                                                               y=F.layer_norm(x, (64,), gm, bt, eps))
    x = randn(2, 3, 16)
    cases['noaffine_3d'] = case(x=x, eps=1e-5, y=F.layer_norm(x, (16,)))
    write('layernorm', cases)


# ---- masked softmax ----------------------------------------------------------------------------
def softmax():
    cases = {}
    x = randn(2, 3, 6, 6, scale=4.0)
    causal = torch.tril(torch.ones(6, 6, dtype=torch.bool))
    add = torch.zeros(6, 6).masked_fill(~causal, float('-inf'))
    cases['additive_causal'] = case(x=x, mask=add, y=torch.softmax(x + add, dim=-1))
    cases['bool_causal'] = case(x=x, mask=causal.to(torch.uint8),
                                y=torch.softmax(x.masked_fill(~causal, float('-inf')), dim=-1))
    # one visible entry per row at varying positions, boolean per-row mask (2,5,7)
    x = randn(2, 5, 7, scale=10.0)
    keep = torch.zeros(2, 5, 7, dtype=torch.bool)
    for b in range(2):
        for r in range(5):
            keep[b, r, (3 * b + r) % 7] = True
    keep[1, 4, :] = True  # one full row as a control
    cases['bool_single_visible'] = case(x=x, mask=keep.to(torch.uint8),
                                        y=torch.softmax(x.masked_fill(~keep, float('-inf')), dim=-1))
    # extreme values
    ext = torch.tensor([[1e30, -1e30, 0.0, 1.0, 80.0],
                        [80.0, -80.0, 79.0, 0.0, -1e30],
                        [-1e30, -1e30, -1e30, -1e30, -1e30 + 1e24],
                        [3e38, -3e38, 1e38, 0.0, 2.9e38],
                        [-80.0, -81.0, -79.5, -100.0, -88.0]], dtype=torch.float32)
    cases['extreme'] = case(x=ext, y=torch.softmax(ext, dim=-1))
    # softmax along axis 1 of (3,8,4) with an additive finite+(-inf) mask (8,1) broadcast
    x = randn(3, 8, 4, scale=2.0)
    madd = torch.zeros(8, 1)
    madd[2, 0] = float('-inf')
    madd[5, 0] = -3.0
    cases['additive_axis1_broadcast'] = case(x=x, mask=madd, axis=1, y=torch.softmax(x + madd, dim=1))
    write('softmax', cases)


# ---- matmul with transposes --------------------------------------------------------------------
def matmul():
    cases = {}
    a = randn(2, 3, 4, 5)
    b = randn(3, 5, 6)
    cases['batched_broadcast'] = case(a=a, b=b, transA=False, transB=False, y=torch.matmul(a, b))
    at = randn(3, 5, 4)
    cases['transA'] = case(a=at, b=b, transA=True, transB=False, y=torch.matmul(at.transpose(-1, -2), b))
    bt = randn(1, 6, 5)
    cases['transB_broadcast'] = case(a=a, b=bt, transA=False, transB=True, y=torch.matmul(a, bt.transpose(-1, -2)))
    a2 = randn(2, 1, 7, 33)
    b2 = randn(4, 9, 7)
    cases['transA_transB'] = case(a=a2, b=b2, transA=True, transB=True,
                                  y=torch.matmul(a2.transpose(-1, -2), b2.transpose(-1, -2)))
    x = randn(2, 5, 16)
    w = randn(8, 16)
    bias = randn(8)
    cases['linear'] = case(a=x, b=w, bias=bias, y=F.linear(x, w, bias))
    write('matmul', cases)


# ---- std (unbiased) ----------------------------------------------------------------------------
def std():
    x = randn(5, 7, scale=3.0, mean=2.0)
    big = randn(40, scale=0.01, mean=1000.0)
    write('std', {
        'axis0': case(x=x, axis=0, y=torch.std(x, dim=0)),
        'axis1': case(x=x, axis=1, y=torch.std(x, dim=1)),
        'all': case(x=x, y=torch.std(x).reshape(())),
        'large_mean': case(x=big, axis=0, y=torch.std(big, dim=0),
                           y64=np.array(big.double().numpy().std(ddof=1), dtype=np.float64)),
        'var_axis1': case(x=x, axis=1, y=torch.var(x, dim=1)),
    })


# ---- im2patch vs Conv2d(stride = kernel) -------------------------------------------------------
def im2patch():
    cases = {}
    for (B, C, H, W, p, D) in [(2, 3, 28, 42, 14, 8), (1, 2, 8, 8, 4, 5)]:
        x = randn(B, C, H, W)
        conv = torch.nn.Conv2d(C, D, kernel_size=p, stride=p, bias=True)
        with torch.no_grad():
            conv.weight.copy_(randn(D, C, p, p, scale=0.1))
            conv.bias.copy_(randn(D, scale=0.1))
            y = conv(x).flatten(2).transpose(1, 2).contiguous()
        cases['B%dC%dH%dW%dp%d' % (B, C, H, W, p)] = case(x=x, weight=conv.weight.data, bias=conv.bias.data, p=p, y=y)
    write('im2patch', cases)


# ---- AdamW, 3 steps --------------------------------------------------------------------------
def adamw():
    cases = {}
    for tag, lr, wd, betas, eps in [('default', 1e-3, 1e-2, (0.9, 0.999), 1e-8),
                                    ('strong', 5e-2, 0.1, (0.8, 0.99), 1e-6)]:
        p0 = randn(3, 4)
        q0 = randn(5)
        p = p0.clone().requires_grad_(True)
        q = q0.clone().requires_grad_(True)
        opt = torch.optim.AdamW([p, q], lr=lr, betas=betas, eps=eps, weight_decay=wd)
        grads, ps, qs = [], [], []
        for step in range(3):
            gp = randn(3, 4)
            gq = randn(5, scale=10.0 ** (step - 1))
            p.grad = gp.clone()
            q.grad = gq.clone()
            opt.step()
            grads += [gp, gq]
            ps.append(p.detach().clone())
            qs.append(q.detach().clone())
        cases[tag] = case(lr=lr, weight_decay=wd, beta1=betas[0], beta2=betas[1], eps=eps, p0=p0, q0=q0,
                          gp=torch.stack(grads[0::2]), gq=torch.stack(grads[1::2]),
                          p=torch.stack(ps), q=torch.stack(qs))
    write('adamw', cases)


if __name__ == '__main__':
    # always all cases, in this order: they share one seeded generator
    for w in ['erf', 'gelu', 'layernorm', 'softmax', 'matmul', 'std', 'im2patch', 'adamw']:
        globals()[{'erf': 'erf_table'}.get(w, w)]()
