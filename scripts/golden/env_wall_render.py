"""Golden Wall renders: DINO-WM's DotWall image pipeline in torch, resized by torchvision.

Run with /usr/bin/python3 (torch 1.13, torchvision 0.14). Writes
test/fixtures/env-wall-render/{meta.json,pixels.bin}: for each (state, size) the image
round(Resize((size, size), antialias=True)(img)) as uint8 HWC, concatenated in meta order.
The 65x65 image follows env/wall/envs/wall.py (_render_walls, _render_dot, channels_to_img).
"""
import json
import math
import os

import torch
import torchvision.transforms as T

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'fixtures', 'env-wall-render')
IMG, WALL_X, DOOR_Y, WALL_W, DOOR_S, BORDER, STD = 65, 32, 30, 6, 4, 5, 1.7


def render_walls():
    x = torch.arange(0, IMG)
    y = torch.arange(0, IMG)
    gx, gy = torch.meshgrid(x, y, indexing='xy')
    half = WALL_W // 2
    wall = (gx >= WALL_X - half) & (gx <= WALL_X + half)
    door = (DOOR_Y - DOOR_S <= gy) & (gy <= DOOR_Y + DOOR_S)
    res = (wall & ~door).float()
    res[:, BORDER - 1] = 1
    res[:, -BORDER] = 1
    res[BORDER - 1, :] = 1
    res[-BORDER, :] = 1
    return res


def render_dot(loc):
    x = torch.linspace(0, IMG - 1, steps=IMG)
    y = torch.linspace(0, IMG - 1, steps=IMG)
    xx, yy = torch.meshgrid(x, y, indexing='xy')
    c = torch.stack([xx, yy], dim=-1)
    img = torch.exp(-(c - loc).norm(dim=-1).pow(2) / (2 * STD * STD)) / (2 * math.pi * STD * STD)
    return img / img.max()


def channels_to_img(wall_img, dot_img):
    rgb = torch.ones((3, IMG, IMG), dtype=torch.uint8) * 255
    rgb[:, wall_img == 1] = torch.tensor([0, 0, 0], dtype=torch.uint8).unsqueeze(1)
    nw = wall_img == 0
    red = (dot_img * 255).to(torch.uint8)
    rgb[1, nw] = 255 - red[nw]
    rgb[2, nw] = 255 - red[nw]
    return rgb


def main():
    os.makedirs(OUT, exist_ok=True)
    states = [[20.25, 15.75], [33.5, 30.125]]
    sizes = [64, 96]
    cases, blob = [], bytearray()
    walls = render_walls()
    for s in states:
        img = channels_to_img(walls, render_dot(torch.tensor(s))).float()
        for size in sizes:
            out = T.Resize((size, size), antialias=True)(img)
            px = out.round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).contiguous()
            cases.append({'state': s, 'size': size, 'offset': len(blob), 'bytes': px.numel()})
            blob += bytes(px.numpy().tobytes())
    with open(os.path.join(OUT, 'pixels.bin'), 'wb') as f:
        f.write(blob)
    with open(os.path.join(OUT, 'meta.json'), 'w') as f:
        json.dump({'format': 'quantwm-golden-wall-render', 'torch': torch.__version__, 'cases': cases}, f, indent=1)


if __name__ == '__main__':
    main()
