"""Trains the issue's reference CNN in PyTorch on the CPU and prints samples/s as JSON.

Same model, batch and optimizer as the browser benchmark: 64×64×1 → conv3×3×16 →
maxpool → conv3×3×32 → maxpool → dense 64 → dense 2, batch 32, Adam, cross-entropy.
Usage: python3 torch_train.py THREADS STEPS WARMUP
"""
import json
import sys
import time

import torch
from torch import nn

threads, steps, warmup = (int(a) for a in sys.argv[1:4])
torch.set_num_threads(threads)
torch.manual_seed(0)

model = nn.Sequential(
    nn.Conv2d(1, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(32 * 14 * 14, 64), nn.ReLU(), nn.Linear(64, 2),
)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()
batch = 32
x = torch.rand(batch, 1, 64, 64)
y = torch.arange(batch) % 2


def step():
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()


for _ in range(warmup):
    step()
start = time.perf_counter()
for _ in range(steps):
    step()
elapsed = time.perf_counter() - start
print(json.dumps({
    "samples_per_s": steps * batch / elapsed,
    "threads": torch.get_num_threads(),
    "torch": torch.__version__,
}))
