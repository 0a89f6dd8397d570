#!/usr/bin/env python3
"""Peers for learning to rank on MQ2008: LightGBM LambdaMART and allRank's losses
(ListNet, ListMLE, RankNet, LambdaLoss NDCG-Loss2++, ApproxNDCG, NeuralNDCG) with
the same MLP as lossrank's default (46 → 64 → 32 → 1, ReLU), the same Adam
settings, batches of whole queries and early stopping on validation NDCG@10.

Every peer writes its validation and test scores in file order and our evaluator
(lossrank-eval) computes the metrics in both conventions, so every number of
docs/RESULTS-ltr.md is computed by the same code. Results go to
OUT/peer-NAME-fK.json in the shape run_ltr.py --summarize reads.

    /work/venv/bin/python benchmarks/peers/ltr_peers.py --eval-tool build/tools/lossrank-eval \
        --out benchmarks/results/ltr-mq2008

Requires lightgbm, torch, numpy and allrank (pip install --no-deps allrank). A
benchmark, never a test.
"""
import argparse
import json
import pathlib
import random
import subprocess
import sys
import tempfile
import time

import numpy as np

ALLRANK = ["listnet", "listmle", "ranknet", "lambdaloss", "approxndcg", "neuralndcg"]
PEERS = ["lightgbm"] + ALLRANK
# LightGBM's settings (the rest are its defaults), shared with benchmarks/ltr/gbdt.py.
LIGHTGBM_PARAMS = {"learning_rate": 0.05, "num_leaves": 31}
LIGHTGBM_EARLY_STOPPING = 50  # rounds without a better validation NDCG@10


def read_letor(path):
    """Rows in file order: features [n, d], labels [n], qids [n]."""
    labels, qids, rows, dims = [], [], [], 0
    with open(path) as f:
        for line in f:
            body = line.split("#", 1)[0].split()
            if not body:
                continue
            labels.append(float(body[0]))
            qids.append(body[1][4:])
            feats = {int(k): float(v) for k, v in (t.split(":", 1) for t in body[2:])}
            dims = max(dims, max(feats) if feats else 0)
            rows.append(feats)
    x = np.zeros((len(rows), dims), dtype=np.float32)
    for i, feats in enumerate(rows):
        for k, v in feats.items():
            x[i, k - 1] = v
    return x, np.array(labels, dtype=np.float32), np.array(qids)


def fold_files(data, fold):
    part = lambda k: pathlib.Path(data) / f"S{(fold - 1 + k) % 5 + 1}.txt"
    return [part(0), part(1), part(2)], part(3), part(4)


def load_fold(data, fold):
    """(train, valid, test) of a fold, each (features, labels, qids) in file order, and the
    valid and test files (lossrank-eval reads them)."""
    train_files, valid_file, test_file = fold_files(data, fold)
    parts = [read_letor(f) for f in train_files]
    train = tuple(np.concatenate([part[i] for part in parts]) for i in range(3))
    return train, read_letor(valid_file), read_letor(test_file), valid_file, test_file


def groups(qids):
    """Row indices per query, queries in order of first appearance."""
    out = {}
    for i, q in enumerate(qids):
        out.setdefault(q, []).append(i)
    return [np.array(v) for v in out.values()]


def ndcg10_standard(scores, labels, qids):
    """Mean NDCG@10, standard convention, queries with ideal DCG 0 skipped (early stopping only)."""
    total, count = 0.0, 0
    for idx in groups(qids):
        y = labels[idx]
        order = np.argsort(-scores[idx], kind="stable")
        k = min(10, len(idx))
        disc = 1 / np.log2(np.arange(2, k + 2))
        ideal = ((2 ** np.sort(y)[::-1][:k] - 1) * disc).sum()
        if ideal <= 0:
            continue
        total += ((2 ** y[order][:k] - 1) * disc).sum() / ideal
        count += 1
    return total / max(count, 1)


def evaluate(tool, path, scores, ideal_zero="skip"):
    with tempfile.NamedTemporaryFile("w", suffix=".scores", delete=False) as f:
        f.write("\n".join(f"{s:.9g}" for s in scores) + "\n")
        name = f.name
    p = subprocess.run([tool, "--data", str(path), "--scores", name, "--ideal-zero", ideal_zero],
                       capture_output=True, text=True)
    pathlib.Path(name).unlink()
    if p.returncode != 0:
        raise RuntimeError(p.stderr)
    return json.loads(p.stdout)


def fit_lightgbm(train, valid, args):
    import lightgbm as lgb
    x, y, q = train
    idx = np.concatenate(groups(q))  # LightGBM needs each query's rows contiguous
    vx, vy, vq = valid
    vidx = np.concatenate(groups(vq))
    model = lgb.LGBMRanker(objective="lambdarank", n_estimators=args.trees, **LIGHTGBM_PARAMS,
                           n_jobs=1, random_state=args.seed, verbose=-1)
    model.fit(x[idx], y[idx], group=[len(g) for g in groups(q)],
              eval_set=[(vx[vidx], vy[vidx])], eval_group=[[len(g) for g in groups(vq)]], eval_at=[10],
              callbacks=[lgb.early_stopping(LIGHTGBM_EARLY_STOPPING, verbose=False)])
    info = {"best_iteration": model.best_iteration_, "trees": args.trees,
            # LightGBM's own metric (ideal DCG 0 scores 1), for the cross-check against ours
            "own_valid_ndcg@10": model.best_score_["valid_0"]["ndcg@10"]}
    return lambda feats: model.predict(feats), info


def fit_allrank(name, train, valid, args):
    import torch
    from allrank.models import losses
    from allrank.data.dataset_loading import PADDED_Y_VALUE

    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    rng = random.Random(args.seed)
    x, y, q = train
    dims = x.shape[1]
    layers, width = [], dims
    for h in args.hidden:
        layers += [torch.nn.Linear(width, h), torch.nn.ReLU()]
        width = h
    model = torch.nn.Sequential(*layers, torch.nn.Linear(width, 1))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = {
        "listnet": lambda p, t: losses.listNet(p, t),
        "listmle": lambda p, t: losses.listMLE(p, t),
        "ranknet": lambda p, t: losses.rankNet(p, t),
        "lambdaloss": lambda p, t: losses.lambdaLoss(p, t, weighing_scheme="ndcgLoss2PP_scheme"),
        "approxndcg": lambda p, t: losses.approxNDCGLoss(p, t),
        "neuralndcg": lambda p, t: losses.neuralNDCG(p, t),
    }[name]
    train_groups = groups(q)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    vx, vy, vq = valid

    def score(feats):
        model.eval()
        with torch.no_grad():
            return model(torch.from_numpy(feats)).squeeze(1).double().numpy()

    best, best_epoch, best_state, epochs = -1.0, 0, None, 0
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = list(range(len(train_groups)))
        rng.shuffle(order)
        for start in range(0, len(order), args.batch):
            batch = [train_groups[i] for i in order[start:start + args.batch]]
            longest = max(len(g) for g in batch)
            feats = torch.zeros(len(batch), longest, dims)
            labels = torch.full((len(batch), longest), float(PADDED_Y_VALUE))
            for b, g in enumerate(batch):
                feats[b, :len(g)] = xt[g]
                labels[b, :len(g)] = yt[g]
            loss = loss_fn(model(feats).squeeze(-1), labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
        epochs = epoch
        ndcg = ndcg10_standard(score(vx), vy, vq)
        if ndcg > best:
            best, best_epoch = ndcg, epoch
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        elif epoch - best_epoch >= args.patience:
            break
    model.load_state_dict(best_state)
    # allRank's own NDCG@10 (filler 1 for ideal DCG 0) on the validation split,
    # for the cross-check against ours.
    from allrank.models.metrics import ndcg as allrank_ndcg
    vgroups = groups(vq)
    longest = max(len(g) for g in vgroups)
    preds = torch.full((len(vgroups), longest), 0.0, dtype=torch.float64)
    trues = torch.full((len(vgroups), longest), float(PADDED_Y_VALUE), dtype=torch.float64)
    vscores = score(vx)
    for b, g in enumerate(vgroups):
        preds[b, :len(g)] = torch.from_numpy(vscores[g])
        trues[b, :len(g)] = torch.from_numpy(vy[g].astype(np.float64))
    own = allrank_ndcg(preds, trues, ats=[10]).mean().item()
    return score, {"own_valid_ndcg@10": own,"best_epoch": best_epoch, "epochs": epochs, "hidden": args.hidden, "lr": args.lr,
                   "batch": args.batch, "patience": args.patience}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/data/MQ2008")
    p.add_argument("--eval-tool", default="build/tools/lossrank-eval")
    p.add_argument("--out", required=True)
    p.add_argument("--peers", default=",".join(PEERS))
    p.add_argument("--folds", default="1,2,3,4,5")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--patience", type=int, default=20)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--hidden", default="64,32")
    p.add_argument("--trees", type=int, default=1000)
    args = p.parse_args()
    args.hidden = [int(h) for h in args.hidden.split(",")]
    peers = args.peers.split(",")
    bad = [x for x in peers if x not in PEERS]
    if bad:
        p.error(f"unknown peers {bad} (known: {', '.join(PEERS)})")
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # Imports and LibTorch's start-up outside the timed fits.
    import lightgbm  # noqa: F401
    import torch
    import allrank.models.losses  # noqa: F401
    import allrank.models.metrics  # noqa: F401
    torch.set_num_threads(1)
    torch.nn.Linear(2, 1)(torch.zeros(1, 2)).sum().backward()
    for fold in [int(f) for f in args.folds.split(",")]:
        train, valid, test, valid_file, test_file = load_fold(args.data, fold)
        for peer in peers:
            name = "lightgbm" if peer == "lightgbm" else f"allrank-{peer}"
            path = out / f"peer-{name}-f{fold}.json"
            if path.exists():
                continue
            t = time.time()
            scorer, info = fit_lightgbm(train, valid, args) if peer == "lightgbm" else fit_allrank(peer, train, valid, args)
            seconds = time.time() - t
            valid_scores = scorer(valid[0])
            result = {"peer": name, "fold": fold, "seconds": seconds, "config": info,
                      "valid": evaluate(args.eval_tool, valid_file, valid_scores),
                      "test": evaluate(args.eval_tool, test_file, scorer(test[0]))}
            # Our evaluator with the peer's convention (ideal DCG 0 scores 1) against the peer's own metric.
            ours_one = evaluate(args.eval_tool, valid_file, valid_scores, "one")["standard"]["ndcg@10"]
            result["cross_check"] = {"ours_valid_ndcg@10_ideal_zero_one": ours_one,
                                     "peer_own_valid_ndcg@10": info["own_valid_ndcg@10"]}
            path.write_text(json.dumps(result, indent=2) + "\n")
            print(f"{name} fold {fold}: test ndcg@10 {result['test']['standard']['ndcg@10']:.4f} standard, "
                  f"{result['test']['letor']['ndcg@10']:.4f} letor ({seconds:.1f} s); valid ndcg@10 ours "
                  f"{ours_one:.6f} vs its own {info['own_valid_ndcg@10']:.6f} (ideal DCG 0 → 1)", flush=True)


if __name__ == "__main__":
    sys.exit(main())
