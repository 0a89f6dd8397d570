#!/usr/bin/env python3
"""A BiasedMF training epoch in eager PyTorch, the way the research code runs it.

The peer of bench_training's native epoch: the same protocol as the
AutoLossGen reference runner (BiasedMF with 64 factors, N(0, 1) embeddings,
global bias 0.1; the probability clamped to [1e-7, 1 - 1e-7] into the loss;
l2 1e-4 times the squares of every parameter added to the loss and given to
the optimiser as weight decay; every gradient element clamped to ±50;
minibatches of 128 reshuffled every epoch), written in plain PyTorch eager
on one thread. BCE and LogMin (AutoLossGen's best) as the loss; GD or Adam.

    biasedmf_epoch.py --data ../shared/data/ml100k01-1-5 --optimizer gd --repeats 3 --json OUT.json

Prints and writes the median seconds per epoch of each loss.
"""
import argparse
import csv
import json
import os
import platform
import statistics
import time

import torch


def read_split(path):
    users, items, labels = [], [], []
    with open(path) as f:
        for row in csv.DictReader(f, delimiter="\t"):
            users.append(int(row["uid"]))
            items.append(int(row["iid"]))
            labels.append(float(row["label"]))
    return torch.tensor(users), torch.tensor(items), torch.tensor(labels)


class BiasedMF(torch.nn.Module):
    def __init__(self, num_users, num_items, dim=64):
        super().__init__()
        self.user_vectors = torch.nn.Embedding(num_users, dim)
        self.item_vectors = torch.nn.Embedding(num_items, dim)
        self.user_bias = torch.nn.Embedding(num_users, 1)
        self.item_bias = torch.nn.Embedding(num_items, 1)
        self.global_bias = torch.nn.Parameter(torch.tensor(0.1))

    def forward(self, u, i):
        score = (self.user_vectors(u) * self.item_vectors(i)).sum(1) + self.user_bias(u).squeeze(1) \
            + self.item_bias(i).squeeze(1) + self.global_bias
        return torch.sigmoid(score)


def bce(p, y):
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()


def logmin(p, y, eps=1e-6):
    # AutoLossGen's LogMin, as examples/logmin.loss writes it.
    m = torch.minimum(y, p)
    return (torch.log(1 / (m + eps) + eps) * (m + y + p)).mean()


LOSSES = {"bce": bce, "logmin": logmin}


def epoch(model, optimizer, loss_fn, data, batch, l2, clip, gen):
    users, items, labels = data
    order = torch.randperm(len(labels), generator=gen)
    for start in range(0, len(order), batch):
        rows = order[start:start + batch]
        p = model(users[rows], items[rows]).clamp(1e-7, 1 - 1e-7)
        loss = loss_fn(p, labels[rows])
        loss = loss + l2 * sum((w ** 2).sum() for w in model.parameters())
        optimizer.zero_grad()
        loss.backward()
        for w in model.parameters():
            w.grad.clamp_(-clip, clip)
        optimizer.step()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="folder with NAME.train.csv (uid, iid, label; tab-separated)")
    ap.add_argument("--optimizer", choices=["gd", "adam"], default="gd")
    ap.add_argument("--lr", type=float, default=None, help="default: 0.01 for gd, 0.001 for adam")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    torch.set_num_threads(1)
    name = os.path.basename(args.data.rstrip("/"))
    train = read_split(os.path.join(args.data, f"{name}.train.csv"))
    splits = [read_split(os.path.join(args.data, f"{name}.{s}.csv")) for s in ("validation", "test")]
    num_users = 1 + max(int(s[0].max()) for s in [train] + splits)
    num_items = 1 + max(int(s[1].max()) for s in [train] + splits)
    lr = args.lr if args.lr is not None else (0.01 if args.optimizer == "gd" else 0.001)
    out = {"torch_version": torch.__version__, "python": platform.python_version(), "threads": 1,
           "optimizer": args.optimizer, "lr": lr, "rows": len(train[2]), "losses": {}}
    for loss_name, loss_fn in LOSSES.items():
        seconds = []
        for r in range(args.repeats):
            torch.manual_seed(r + 1)
            model = BiasedMF(num_users, num_items)
            opt = (torch.optim.SGD(model.parameters(), lr=lr, weight_decay=1e-4) if args.optimizer == "gd"
                   else torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-4))
            t0 = time.perf_counter()
            epoch(model, opt, loss_fn, train, 128, 1e-4, 50.0, torch.Generator().manual_seed(r + 1))
            seconds.append(time.perf_counter() - t0)
        out["losses"][loss_name] = {"median_s": statistics.median(seconds), "seconds": seconds}
        print(f"{args.optimizer} {loss_name}: {statistics.median(seconds):.3f} s per epoch (median of {args.repeats})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
