#!/usr/bin/env python3
"""Render a losscc-bench JSON file as markdown tables (stdlib only).

    python3 benchmarks/render.py benchmarks/results/cpu-*.json > table.md

Ratios are `peer time / losscc time` from the same run: above 1 means losscc
is faster. "of memcpy" is the memcpy time over the JIT time for the same
bytes, i.e. the fraction of the memory ceiling the JIT reaches.
"""

import json
import sys


def ms(peer):
    if not isinstance(peer, dict) or "median_s" not in peer:
        return "–"
    return f"{peer['median_s'] * 1e3:.3g}"


def ratio(r, key):
    v = r.get(key)
    return "–" if v is None else f"{v:.2f}×" if v < 10 else f"{v:.0f}×"


def us(s):
    if s is None:
        return "–"
    if s < 1e-3:
        return f"{s * 1e6:.3g} µs"
    return f"{s * 1e3:.3g} ms" if s < 1 else f"{s:.1f} s"


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" if i else "---" for i in range(len(header))) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def render(doc):
    m = doc["machine"]
    parts = [
        f"Measured {m['date_utc']} on {m['cpu_model']} ({m['hardware_threads']} hardware threads, "
        f"{', '.join(m['isa'])}), commit `{(m.get('git_commit') or 'unknown')[:12]}`"
        f"{' + local changes' if m.get('git_tracked_changes') else ''}; {m['cxx_compiler']}, "
        f"LLVM {m['llvm_version']}, LibTorch {m['libtorch_version']}; hand loops: "
        f"`{m['hand_loop_compiler']} {m['hand_loop_flags']}`. Command: `{doc['command']}`.",
        "",
        "### Targets",
        "",
        table(["target", "measured", "met"],
              [[t["target"], "–" if t["measured"] is None else
                (us(t["measured"]) if "NVRTC" in t["target"] or "cache" in t["target"] else f"{t['measured']:.2f}×"),
                {True: "yes", False: "**no**", None: "not measured"}[t["met"]]] for t in doc["targets"]]),
        "",
        "### CPU: fused forward+backward, time per call (ms, median) and peer/JIT ratios",
        "",
    ]
    rows = []
    for c in doc["cpu"]:
        p, r = c["peers"], c["ratios"]
        jit = p.get("jit", {})
        gbs = jit.get("bytes_per_s")
        rows.append([c["loss"], f"2^{c['log2_n']}", c["threads"], ms(jit),
                     "–" if gbs is None else f"{gbs / 1e9:.1f}",
                     ratio(r, "hand_over_jit"), ratio(r, "eager_over_jit"),
                     ratio(r, "torch_eager_over_jit"), ratio(r, "torch_compiled_over_jit"),
                     ratio(r, "interp_over_jit"),
                     "–" if "memcpy_over_jit" not in r else f"{100 * r['memcpy_over_jit']:.0f}%"])
    parts.append(table(["loss", "N", "thr", "JIT ms", "JIT GB/s", "hand", "LibTorch eager",
                        "PyTorch eager", "torch.compile", "interp", "of memcpy"], rows))

    ranking = doc.get("ranking", {})
    if ranking.get("cases"):
        allrank = ranking.get("allrank", {})
        parts += ["", "### Ranking: fused forward+backward over queries, 1 thread, time per call (ms, median) "
                  "and peer/JIT ratios", ""]
        parts.append(table(
            ["loss", "queries × docs", "JIT ms", "LibTorch padded", "allRank eager", "allRank torch.compile",
             "padded vs JIT (max rel. diff)"],
            [[c["loss"], f"{c['queries']:,} × {c['docs']}", ms(c["peers"]["jit"]),
              ratio(c["ratios"], "padded_over_jit"), ratio(c["ratios"], "allrank_eager_over_jit"),
              ratio(c["ratios"], "allrank_compiled_over_jit"), f"{c['padded_agreement']:.1e}"]
             for c in ranking["cases"]]))
        if allrank.get("cases"):
            parts.append(f"\nallRank peer: PyTorch {allrank['torch_version']}, `{allrank['allrank']}`, "
                         "its own loss definitions (same work, other normalisation).")
            failed = [f"{c['loss']}: {c['compiled']['error']}" for c in allrank["cases"]
                      if "error" in c.get("compiled", {})]
            parts += [f"\ntorch.compile failed on allRank's {f}" for f in failed]
        elif allrank.get("skipped"):
            parts.append(f"\nallRank peer: skipped ({allrank['skipped']}).")

    mem = doc.get("memory", {})
    if mem.get("cases"):
        parts += ["", f"### Memory per call (N = 2^{mem['log2_n']}, 1 thread; {mem['method']})", ""]
        mrows = []
        for c in mem["cases"]:
            j, e = c.get("jit", {}), c.get("eager", {})
            mrows.append([c["loss"], f"{c['gradient_bytes'] / 2**20:.1f} MiB",
                          j.get("alloc_calls", "–"), f"{j.get('alloc_bytes', 0) / 2**20:.3f} MiB",
                          e.get("alloc_calls", "–"), f"{e.get('alloc_bytes', 0) / 2**20:.1f} MiB",
                          f"{e.get('peak_rss_growth_bytes', 0) / 2**20:.1f} MiB"])
        parts.append(table(["loss", "gradients", "JIT allocs", "JIT bytes", "eager allocs",
                            "eager bytes", "eager peak RSS growth"], mrows))
        parts.append(f"\nProcess peak RSS: {mem['process_peak_rss_bytes'] / 2**20:.0f} MiB.")

    comp = doc.get("compile", {})
    crow = []
    for key, label in [("llvm", "LLVM (Program → native loop, no cache)"),
                       ("cache_hit", "kernel cache hit (rt::get_kernel again)")]:
        if "p50_s" in comp.get(key, {}):
            crow.append([label, us(comp[key]["p50_s"]), us(comp[key]["p90_s"]), comp[key]["samples"]])
    for b in (1, 8, 32):
        k = comp.get(f"nvrtc_b{b}", {})
        if "per_kernel" in k:
            crow.append([f"NVRTC → PTX, {b} per call (per kernel)", us(k["per_kernel"]["p50_s"]),
                         us(k["per_kernel"]["p90_s"]), k["per_call"]["samples"]])
    if crow:
        cand = comp.get("candidates", {})
        parts += ["", f"### Compile latency ({cand.get('candidates', '?')} random candidates, "
                  f"{cand.get('sampler', '')})", "",
                  table(["what", "p50", "p90", "calls"], crow)]
        if "nvrtc_first_call_in_process_s" in comp:
            parts.append(f"\nFirst NVRTC call in the process: {us(comp['nvrtc_first_call_in_process_s'])}.")

    torch = doc.get("torch", {})
    if torch.get("cases"):
        compiles = [c for c in torch["cases"] if "compile_s" in c]
        if compiles:
            parts += ["", f"### torch.compile compile time (PyTorch {torch['torch_version']}, "
                      f"{torch['torch_compile_mode']}; {torch.get('run', '')})", "",
                      table(["loss", "threads", "compile (first call − steady call)"],
                            [[c["loss"], c["threads"], us(c["compile_s"])] for c in compiles])]
        failed = sorted({(c["loss"], c["compile_error"]) for c in torch["cases"] if "compile_error" in c})
        parts += [f"\ntorch.compile failed on {loss}: {err}" for loss, err in failed]
    elif torch.get("skipped"):
        parts += ["", f"torch.compile peer: skipped ({torch['skipped']})."]

    gpu = doc.get("gpu", {})
    if gpu.get("cases"):
        parts += ["", "### GPU", "", table(
            ["loss", "N", "NVRTC ms", "eager/NVRTC", "of copy bandwidth"],
            [[c["loss"], f"2^{c['log2_n']}", ms(c["peers"]["nvrtc"]),
              ratio(c["ratios"], "eager_over_nvrtc"),
              f"{100 * c['ratios']['fraction_of_copy_bandwidth']:.0f}%"] for c in gpu["cases"]])]
    else:
        parts += ["", f"GPU: skipped ({gpu.get('skipped', 'not run')})."]
    return "\n".join(parts) + "\n"


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: render.py RESULTS.json")
    with open(sys.argv[1]) as f:
        sys.stdout.write(render(json.load(f)))


if __name__ == "__main__":
    main()
