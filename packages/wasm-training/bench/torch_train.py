"""Trains the bench models (bench/models.ts) in PyTorch on the CPU, for `npm run bench:train`.

Twins of the TF.js models, layer for layer: the issue's reference CNN (64×64×1 → conv3×3×16 →
maxpool → conv3×3×32 → maxpool → dense 64 → dense 2), the U-Net stand-in (features 8-16-32,
batch-statistics norm, 2×2/2 transposed convolutions, skip concatenations) and the DenseNet
stand-in (growth 12, blocks (2, 4), zero padding, average pooling), and the shipped VGG-slim
(@fedward/models, width 8, BatchNorm with running statistics). Adam lr 1e-3 (fused where
this torch has it on the CPU), cross-entropy / sigmoid cross-entropy as in models.ts.

Usage: python3 torch_train.py --model cnn --threads 2 [--batch 32] [--channels-last]
                              [--compile off|on|auto] [--serve | --steps 40 --warmup 5]
Without --serve: warms up, times `--steps` steps, prints one JSON line. With --serve: sets up
(and with --compile auto measures eager against torch.compile and keeps the faster), prints a
JSON line describing what runs, then answers each line "run MAX_STEPS SECONDS" on stdin with
a JSON line of samples/s, so that one warm process serves every interleaved round.
Runs on torch 1.13 (Debian's) as well: there torch.compile is absent and --compile falls back.
"""
import argparse
import json
import sys
import time

import torch
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--model", default="cnn", choices=["cnn", "unet", "densenet", "vgg-slim"])
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--batch", type=int, default=32)
parser.add_argument("--channels-last", action="store_true")
parser.add_argument("--compile", default="off", choices=["off", "on", "auto"])
parser.add_argument("--serve", action="store_true")
parser.add_argument("--steps", type=int, default=40)
parser.add_argument("--warmup", type=int, default=5)
args = parser.parse_args()

torch.set_num_threads(args.threads)
torch.manual_seed(0)
SIZE = 64


def norm(c):
    # models.ts BatchStatNorm: the batch's own statistics, biased variance, eps 1e-5, no affine.
    return nn.BatchNorm2d(c, affine=False, track_running_stats=False)


class ConvNormRelu(nn.Sequential):
    """models.ts convNormRelu: conv (no bias, 'same') → batch-stat norm → ReLU."""

    def __init__(self, cin, cout, k=3):
        super().__init__(nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), norm(cout), nn.ReLU())


def double(cin, f):
    return nn.Sequential(ConvNormRelu(cin, f), ConvNormRelu(f, f))


class UNet(nn.Module):
    """models.ts smallUnet."""

    def __init__(self):
        super().__init__()
        self.e1, self.e2, self.bottom = double(1, 8), double(8, 16), double(16, 32)
        self.pool = nn.MaxPool2d(2)
        self.up2, self.d2 = nn.ConvTranspose2d(32, 16, 2, stride=2), double(32, 16)
        self.up1, self.d1 = nn.ConvTranspose2d(16, 8, 2, stride=2), double(16, 8)
        self.out = nn.Conv2d(8, 1, 1)

    def forward(self, x):
        e1 = self.e1(x)
        e2 = self.e2(self.pool(e1))
        b = self.bottom(self.pool(e2))
        d2 = self.d2(torch.cat([self.up2(b), e2], 1))
        d1 = self.d1(torch.cat([self.up1(d2), e1], 1))
        return self.out(d1)


class DenseLayer(nn.Module):
    """One layer of a dense block: h ← concat(h, convNormRelu(convNormRelu(relu(norm(h)), 48, 1), 12))."""

    def __init__(self, cin):
        super().__init__()
        self.f = nn.Sequential(norm(cin), nn.ReLU(), ConvNormRelu(cin, 48, 1), ConvNormRelu(48, 12))

    def forward(self, h):
        return torch.cat([h, self.f(h)], 1)


class DenseNet(nn.Module):
    """models.ts smallDenseNet ('same' padding of the stride-2 layers as symmetric padding: same sizes and FLOPs)."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 24, 7, stride=2, padding=3, bias=False), norm(24), nn.ReLU(),
            nn.MaxPool2d(3, stride=2, padding=1),
            DenseLayer(24), DenseLayer(36),
            nn.ZeroPad2d(2), norm(48), nn.ReLU(), nn.Conv2d(48, 24, 1, bias=False),
            nn.AvgPool2d(2),
            DenseLayer(24), DenseLayer(36), DenseLayer(48), DenseLayer(60),
            norm(72), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(72, 2),
        )

    def forward(self, x):
        return self.net(x)


class VggSlim(nn.Module):
    """@fedward/models' buildVggSlim at width 8: per block [8, 8] [16, 16] [32, 32], conv 3×3 (no bias,
    pad 1) → BatchNorm2d (affine, running statistics; TF.js momentum 0.9 = torch's 0.1) → ReLU, then
    max pool 2/2; global average pool → linear 32 → 16 (no bias) → BatchNorm1d → ReLU → linear 16 → 2."""

    def __init__(self):
        super().__init__()
        layers, cin = [], 1
        for f in (8, 16, 32):
            for _ in range(2):
                layers += [nn.Conv2d(cin, f, 3, padding=1, bias=False), nn.BatchNorm2d(f, momentum=0.1, eps=1e-5), nn.ReLU()]
                cin = f
            layers.append(nn.MaxPool2d(2))
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 16, bias=False), nn.BatchNorm1d(16), nn.ReLU(),
                   nn.Linear(16, 2, bias=False)]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


def build(name):
    if name == "cnn":
        model = nn.Sequential(
            nn.Conv2d(1, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(32 * 14 * 14, 64), nn.ReLU(), nn.Linear(64, 2),
        )
        return model, nn.CrossEntropyLoss(), torch.arange(args.batch) % 2
    if name == "unet":
        r = (torch.arange(SIZE, dtype=torch.float32) - (SIZE - 1) / 2) ** 2
        disc = ((r[:, None] + r[None, :]) < SIZE * SIZE / 10).float()
        return UNet(), nn.BCEWithLogitsLoss(), disc.expand(args.batch, 1, SIZE, SIZE).contiguous()
    if name == "vgg-slim":
        return VggSlim(), nn.CrossEntropyLoss(), torch.arange(args.batch) % 2
    return DenseNet(), nn.CrossEntropyLoss(), torch.arange(args.batch) % 2


model, loss_fn, y = build(args.model)
# models.ts benchInputs: uniform noise plus 0.5 on odd samples.
x = torch.rand(args.batch, 1, SIZE, SIZE) + (torch.arange(args.batch) % 2).float().view(-1, 1, 1, 1) * 0.5
if args.channels_last:
    model = model.to(memory_format=torch.channels_last)
    x = x.contiguous(memory_format=torch.channels_last)

try:
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    adam = "fused"
except (TypeError, RuntimeError):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    adam = "default"


def make_step(net):
    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(net(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()
    return step


def timed(step, max_steps, seconds, warmup=2):
    for _ in range(warmup):
        step()
    start = time.perf_counter()
    steps = 0
    while steps < max_steps and (seconds <= 0 or steps < 3 or time.perf_counter() - start < seconds):
        step()
        steps += 1
    elapsed = time.perf_counter() - start
    return steps * args.batch / elapsed, steps, elapsed


step = make_step(model)
try:
    step()
except RuntimeError as e:  # fused Adam accepted but unsupported here
    if adam != "fused":
        raise
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    adam = f"default (fused failed: {str(e).splitlines()[0]})"
    step = make_step(model)

info = {"torch": torch.__version__, "model": args.model, "threads": torch.get_num_threads(),
        "batch": args.batch, "channels_last": args.channels_last, "adam": adam, "compiled": False}
if args.compile != "off":
    if not hasattr(torch, "compile"):
        info["compile_note"] = f"torch {torch.__version__} has no torch.compile"
    else:
        eager_sps = timed(step, 200, 2.0, warmup=3)[0] if args.compile == "auto" else None
        try:
            t0 = time.perf_counter()
            compiled_step = make_step(torch.compile(model))
            for _ in range(3):
                compiled_step()
            info["compile_seconds"] = round(time.perf_counter() - t0, 1)
            compiled_sps = timed(compiled_step, 200, 2.0)[0] if args.compile == "auto" else None
            if args.compile == "on" or compiled_sps > eager_sps:
                step = compiled_step
                info["compiled"] = True
            if args.compile == "auto":
                info["eager_samples_per_s"] = round(eager_sps, 1)
                info["compiled_samples_per_s"] = round(compiled_sps, 1)
                if not info["compiled"]:
                    info["compile_note"] = "torch.compile slower than eager here"
        except Exception as e:  # noqa: BLE001 – any failure means: run eager
            info["compile_note"] = f"torch.compile failed: {type(e).__name__}: {str(e).strip().splitlines()[0][:200]}"


def report(sps, steps, elapsed):
    print(json.dumps({**info, "samples_per_s": sps, "steps": steps, "seconds": elapsed}), flush=True)


if not args.serve:
    report(*timed(step, args.steps, 0.0, warmup=args.warmup))
    sys.exit(0)

print(json.dumps({**info, "ready": True}), flush=True)
for line in sys.stdin:
    parts = line.split()
    if not parts or parts[0] != "run":
        break
    report(*timed(step, int(parts[1]), float(parts[2])))
