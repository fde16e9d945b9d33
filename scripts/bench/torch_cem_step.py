"""The PyTorch peer of bench/plan.bench.ts's CEM step: DINO-WM's ViT predictor (pre-LN blocks,
to_qkv without bias, dots scaled by dim_head^-0.5, frame-causal mask, erf GELU, final LayerNorm)
with the compact Wall dimensions, rolled out over 300 samples x horizon 5 exactly as
WorldModel.rollout does (action channels replaced each step), plus the CEM objective and elite
update. Random weights: the cost depends only on the shapes.

  /usr/bin/python3 scripts/bench/torch_cem_step.py --threads 1 --iter 7

Prints one JSON line: {"threads", "ms" (median wall), "cpu_ms" (median process CPU), "torch"}.
Used by `npm run bench:plan -- --torch` when /usr/bin/python3 has torch; never by tests.
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=1)
p.add_argument("--iter", type=int, default=7)
p.add_argument("--samples", type=int, default=300)
p.add_argument("--horizon", type=int, default=5)
p.add_argument("--patches", type=int, default=16)
p.add_argument("--dv", type=int, default=64)
p.add_argument("--emb", type=int, default=10)
p.add_argument("--depth", type=int, default=3)
p.add_argument("--heads", type=int, default=4)
p.add_argument("--dim-head", type=int, default=32)
p.add_argument("--mlp", type=int, default=336)
p.add_argument("--action-dim", type=int, default=10)  # frameskip 5 x 2
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)

D = a.dv + 2 * a.emb
inner = a.heads * a.dim_head


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.norm1 = torch.nn.LayerNorm(D)
        self.to_qkv = torch.nn.Linear(D, 3 * inner, bias=False)
        self.to_out = torch.nn.Linear(inner, D)
        self.norm2 = torch.nn.LayerNorm(D)
        self.fc1 = torch.nn.Linear(D, a.mlp)
        self.fc2 = torch.nn.Linear(a.mlp, D)

    def forward(self, x, mask):
        B, N, _ = x.shape
        q, k, v = self.to_qkv(self.norm1(x)).chunk(3, dim=-1)
        q, k, v = (t.reshape(B, N, a.heads, a.dim_head).transpose(1, 2) for t in (q, k, v))
        dots = torch.matmul(q, k.transpose(-1, -2)) * a.dim_head ** -0.5
        dots = dots.masked_fill(mask == 0, float("-inf"))
        o = torch.matmul(dots.softmax(dim=-1), v).transpose(1, 2).reshape(B, N, inner)
        x = x + self.to_out(o)
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


blocks = torch.nn.ModuleList([Block() for _ in range(a.depth)])
norm = torch.nn.LayerNorm(D)
pos = torch.randn(1, a.patches, D) * 0.02
action_encoder = torch.nn.Linear(a.action_dim, a.emb)
mask = torch.ones(a.patches, a.patches)  # num_hist 1: one frame sees itself


def predictor(z):  # (S, 1, P, D) -> (S, 1, P, D)
    S = z.shape[0]
    x = z.reshape(S, a.patches, D) + pos
    for b in blocks:
        x = b(x, mask)
    return norm(x).reshape(S, 1, a.patches, D)


def cem_step(vis0, prop0, goal_vis, goal_prop, mean, std):
    S, H = a.samples, a.horizon
    actions = mean + std * torch.randn(S, H, a.action_dim)
    actions[0] = mean
    act = action_encoder(actions)  # (S, H, E)
    tile = lambda e: e.reshape(S, 1, 1, a.emb).expand(S, 1, a.patches, a.emb)
    z = torch.cat([vis0.expand(S, 1, a.patches, a.dv), tile(prop0.expand(S, a.emb)), tile(act[:, 0])], dim=3)
    for t in range(H):
        nxt = predictor(z)
        if t < H - 1:
            nxt = torch.cat([nxt[..., : a.dv + a.emb], tile(act[:, t + 1])], dim=3)
        z = nxt
    cost = ((z[..., : a.dv] - goal_vis) ** 2).mean(dim=(1, 2, 3)) + ((z[:, 0, 0, a.dv : a.dv + a.emb] - goal_prop) ** 2).mean(dim=1)
    elite = actions[cost.topk(30, largest=False).indices]
    return elite.mean(0), elite.std(0)


with torch.no_grad():
    vis0 = torch.randn(1, 1, a.patches, a.dv)
    prop0 = torch.randn(1, a.emb)
    goal_vis = torch.randn(1, 1, a.patches, a.dv)
    goal_prop = torch.randn(1, a.emb)
    mean = torch.zeros(a.horizon, a.action_dim)
    std = torch.ones(a.horizon, a.action_dim)
    cem_step(vis0, prop0, goal_vis, goal_prop, mean, std)  # warm-up
    wall, cpu = [], []
    for _ in range(a.iter):
        t0, c0 = time.perf_counter(), time.process_time()
        cem_step(vis0, prop0, goal_vis, goal_prop, mean, std)
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
print(json.dumps({"threads": a.threads, "ms": statistics.median(wall), "cpu_ms": statistics.median(cpu), "torch": torch.__version__}))
