#!/usr/bin/env python3
"""The pictures of a search's report and of `losscc explain`, drawn with matplotlib.

    plots.py card CARD.json OUT.png   one loss card (the JSON `losscc explain` writes)
    plots.py search DIR               every picture of a search's output folder:
                                      DIR/reward.png from candidates.jsonl,
                                      DIR/effectiveness.png from summary.json,
                                      DIR/cards/NAME.png for each DIR/cards/NAME.json

The C++ tools run this file as a script (compiler/explain/plots.h); it imports
nothing of losscc. Prints "wrote PATH" for each picture. Exit 3 without
matplotlib, with one line saying how to install it.
"""
import glob
import json
import math
import os
import sys

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
except ImportError:
    print("matplotlib is not installed (apt-get install python3-matplotlib, or pip install matplotlib)")
    sys.exit(3)

LABEL_COLOURS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e"]


def finite(values):
    return [v for v in values if v is not None and math.isfinite(v)]


def robust_limits(values, pad=0.08):
    """y limits that show the body of a curve, not a spike at a domain end."""
    v = sorted(finite(values))
    if not v:
        return None
    lo, hi = v[int(0.02 * (len(v) - 1))], v[int(0.98 * (len(v) - 1))]
    if hi == lo:
        lo, hi = lo - 1, hi + 1
    span = hi - lo
    return lo - pad * span, hi + pad * span


def draw_card(card, out):
    name = card.get("name", "loss")
    if "ranking" in card:
        r = card["ranking"]
        fig, ax = plt.subplots(figsize=(6.4, 3.6))
        docs = r["documents"]
        labels = sorted({d["label"] for d in docs})
        for k, y in enumerate(labels):
            pts = [d for d in docs if d["label"] == y and d["grad"] is not None]
            ax.scatter([d["rank"] for d in pts], [d["grad"] for d in pts], color=LABEL_COLOURS[k % 5],
                       label=f"{r['label_name'] or 'label'} = {y:g}", zorder=3)
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xlabel(r["x_label"] + " (1 = top)")
        ax.set_ylabel(f"∂loss/∂{r.get('pred_name', 'score')} (< 0: pushed up)")
        what = "row's gradient in a sample batch" if card.get("kind") == "multi-task batch" \
            else "document's gradient on a sample query"
        ax.set_title(f"{name}: each {what}", fontsize=10)
        ax.legend(fontsize=8)
    else:
        p = card["pointwise"]
        fig, axes = plt.subplots(1, 2, figsize=(9.6, 3.6))
        for k, c in enumerate(p["curves"]):
            tag = f"{p['label_name']} = {c['label']:g}" if "label" in c else None
            colour = LABEL_COLOURS[k % 5]
            for ax, key in zip(axes, ["loss", "grad"]):
                ax.plot(c["x"], [math.nan if v is None else v for v in c[key]], color=colour, label=tag)
        for ax, key, title in zip(axes, ["loss", "grad"], ["loss", f"∂loss/∂{p['x_label']}"]):
            limits = robust_limits([v for c in p["curves"] for v in c[key]])
            if limits:
                ax.set_ylim(*limits)
            ax.axhline(0, color="grey", lw=0.8)
            ax.set_xlabel(p["x_label"])
            ax.set_title(f"{name}: {title}", fontsize=10)
            if p["curves"] and "label" in p["curves"][0]:
                ax.legend(fontsize=8)
    if not card.get("valid", True):
        fig.text(0.01, 0.01, "check: invalid", color="red", fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    print("wrote", out)


def draw_reward(candidates_path, out):
    rows = [json.loads(line) for line in open(candidates_path) if line.strip()]
    trained = [r for r in rows if r.get("reward") is not None and math.isfinite(r["reward"])]
    if not trained:
        return
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    minutes = [r.get("elapsed_seconds", i) / 60 for i, r in enumerate(trained)]
    ax.scatter(minutes, [r["reward"] for r in trained], s=8, alpha=0.45, color="#7570b3", label="each trained candidate")
    best, curve = -math.inf, []
    for r in trained:
        best = max(best, r["reward"])
        curve.append(best)
    ax.step(minutes, curve, where="post", color="#d95f02", lw=2, label="best so far")
    limits = robust_limits([r["reward"] for r in trained] + curve, pad=0.05)
    if limits:
        ax.set_ylim(limits[0], max(limits[1], max(curve) + 0.01 * abs(max(curve))))
    ax.set_xlabel("minutes into the search")
    ax.set_ylabel("reward")
    ax.set_title(f"search reward ({len(trained)} of {len(rows)} candidates trained)", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    print("wrote", out)


def draw_effectiveness(summary_path, out):
    summary = json.load(open(summary_path))
    rows = [r for r in summary.get("effectiveness", []) if "error" not in r]
    key = next((k for r in rows for k in r if k.startswith("test_") and k.endswith("_per_seed")), None)
    if not key:
        return
    metric = key[len("test_"):-len("_per_seed")]
    rows = sorted(rows, key=lambda r: sum(r[key]) / len(r[key]) if r.get(key) else -math.inf)
    fig, axes = plt.subplots(1, 2, figsize=(10.4, 0.5 + 0.38 * len(rows) + 1.2),
                             gridspec_kw={"width_ratios": [1.1, 1]})
    ax = axes[0]
    for y, r in enumerate(rows):
        seeds = r.get(key) or []
        colour = "#d95f02" if r.get("origin") != "baseline" else "#1b9e77"
        ax.scatter(seeds, [y] * len(seeds), color=colour, s=18, alpha=0.8, zorder=3)
        if seeds:
            ax.plot([sum(seeds) / len(seeds)] * 2, [y - 0.3, y + 0.3], color="black", lw=2)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([r["name"] for r in rows])
    ax.set_xlabel(f"test {metric} (dot: one seed; bar: mean)")
    ax.set_title("found or given losses (orange) and classics (green)", fontsize=10)
    ax = axes[1]
    for k, r in enumerate(reversed(rows)):
        history = (r.get("fit") or {}).get("history") or []
        values = [h["valid"].get(metric) for h in history if isinstance(h.get("valid"), dict)]
        if values:
            style = "-" if r.get("origin") != "baseline" else "--"
            ax.plot(range(1, len(values) + 1), values, style, label=r["name"], lw=1.4)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"validation {metric}")
    ax.set_title("training curves (first seed)", fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    print("wrote", out)


def main(argv):
    if len(argv) == 3 and argv[0] == "card":
        draw_card(json.load(open(argv[1])), argv[2])
    elif len(argv) == 2 and argv[0] == "search":
        folder = argv[1]
        if os.path.exists(os.path.join(folder, "candidates.jsonl")):
            draw_reward(os.path.join(folder, "candidates.jsonl"), os.path.join(folder, "reward.png"))
        if os.path.exists(os.path.join(folder, "summary.json")):
            draw_effectiveness(os.path.join(folder, "summary.json"), os.path.join(folder, "effectiveness.png"))
        for path in sorted(glob.glob(os.path.join(folder, "cards", "*.json"))):
            draw_card(json.load(open(path)), path[:-len(".json")] + ".png")
    else:
        print(__doc__.strip().splitlines()[0])
        print("usage: plots.py card CARD.json OUT.png | plots.py search DIR")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
