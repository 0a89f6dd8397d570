// losscc-bench: fused forward+backward kernels against their peers.
//
//   losscc-bench [--json FILE] [--filter REGEX] [--quick] [--python PY] ...
//
// Sections (case names, which --filter matches):
//   cpu/<loss>/2^k/t<threads>   JIT vs hand loop vs LibTorch eager vs interpreter vs memcpy
//   memory/<loss>/2^k           allocations and peak RSS growth per call
//   compile/{llvm,nvrtc/bK,cache_hit}   compile latency over random candidates
//   gpu/<loss>/2^k              NVRTC kernel vs eager CUDA vs device copy (GPU only)
//   ranking/<loss>/q<Q>xd<D>/t1 ranking kernel vs LibTorch on padded lists vs allRank (with --python)
//   torch/<loss>/...            eager PyTorch and torch.compile (with --python)
// Every figure is a median over repeated calls after warm-up, and every ratio
// is between peers timed in this same run.

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "benchmarks/kernels/bench.h"
#include "compiler/language/parse.h"
#include "compiler/passes/build_program.h"

namespace fs = std::filesystem;
using namespace losscc;
using namespace losscc::bench;

namespace {

// Every pointwise examples/*.loss, differentiated with respect to its
// predictions and scores (roles Prediction, Positive, Negative), sorted by
// name. Ranking losses run over queries; their rows are ranking_bench.cpp's.
std::vector<LossCase> load_examples(const Options& options) {
  std::vector<fs::path> files;
  if (fs::is_directory(options.examples_dir)) {
    for (const auto& e : fs::directory_iterator(options.examples_dir)) {
      if (e.path().extension() == ".loss") files.push_back(e.path());
    }
  }
  std::sort(files.begin(), files.end());
  std::vector<LossCase> out;
  for (const fs::path& f : files) {
    LossFunction fn = parse_loss_file(f.string());
    if (fn.grouped()) continue;
    std::vector<int> grads;
    for (size_t j = 0; j < fn.inputs.size(); ++j) {
      Role r = fn.inputs[j].role;
      if (r == Role::Prediction || r == Role::Positive || r == Role::Negative) grads.push_back(static_cast<int>(j));
    }
    out.push_back({f.stem().string(), f.string(), build_program(fn, grads)});
  }
  return out;
}

const json* find_case(const json& cases, const std::string& name) {
  for (const json& c : cases) if (c.value("name", "") == name) return &c;
  return nullptr;
}

// torch_peer.py's figures beside the JIT's from the same run.
void join_torch_ratios(json& cpu, const json& torch) {
  if (!torch.contains("cases")) return;
  for (const json& t : torch["cases"]) {
    std::string name = fmt::format("cpu/{}/2^{}/t{}", t["loss"].get<std::string>(), t["log2_n"].get<int>(),
                                   t["threads"].get<int>());
    for (json& row : cpu) {
      if (row["name"] != name || !row["peers"]["jit"].contains("median_s")) continue;
      double jit = row["peers"]["jit"]["median_s"];
      row["ratios"]["torch_eager_over_jit"] = t["eager"]["median_s"].get<double>() / jit;
      if (t.contains("compiled") && t["compiled"].contains("median_s")) row["ratios"]["torch_compiled_over_jit"] = t["compiled"]["median_s"].get<double>() / jit;
    }
  }
}

json ratio_or_null(const json& cpu, const std::string& name, const char* ratio) {
  const json* c = find_case(cpu, name);
  if (c == nullptr || !(*c)["ratios"].contains(ratio)) return nullptr;
  return (*c)["ratios"][ratio];
}

// The project's targets, judged on the figures just measured.
json targets(const json& cpu, const json& compile, const json& ranking) {
  json t = json::array();
  const std::string headline = "cpu/logmin/2^22/t1";
  json hand = ratio_or_null(cpu, headline, "hand_over_jit");
  t.push_back({{"target", "CPU JIT >= 0.8x the hand-written clang loop, logmin, N=2^22, 1 thread"},
               {"measured", hand}, {"met", hand.is_null() ? json(nullptr) : json(hand.get<double>() >= 0.8)}});
  json eager = ratio_or_null(cpu, headline, "eager_over_jit");
  t.push_back({{"target", "CPU JIT >= 40x LibTorch eager, logmin, N=2^22, 1 thread"},
               {"measured", eager}, {"met", eager.is_null() ? json(nullptr) : json(eager.get<double>() >= 40)}});
  json nvrtc = nullptr;
  for (const char* b : {"nvrtc_b32", "nvrtc_b8", "nvrtc_b1"}) {
    if (compile.contains(b) && compile[b].contains("per_kernel")) {
      nvrtc = compile[b]["per_kernel"]["p50_s"];
      break;
    }
  }
  t.push_back({{"target", "NVRTC <= 20 ms per kernel amortised (largest batch, p50)"},
               {"measured", nvrtc}, {"met", nvrtc.is_null() ? json(nullptr) : json(nvrtc.get<double>() <= 0.020)}});
  json hit = compile.contains("cache_hit") ? compile["cache_hit"]["p50_s"] : json(nullptr);
  t.push_back({{"target", "kernel cache hit <= 20 us (p50)"},
               {"measured", hit}, {"met", hit.is_null() ? json(nullptr) : json(hit.get<double>() <= 20e-6)}});
  for (const char* loss : {"listnet", "approx_ndcg"}) {
    json measured = nullptr;
    for (const json& row : ranking.value("cases", json::array()))
      if (row["loss"] == loss && row["queries"] == 10000 && row["agree"] == true)
        measured = row["ratios"]["padded_over_jit"];
    t.push_back({{"target", fmt::format("ranking JIT >= 5x LibTorch eager on padded lists, {}, 10,000 queries x 100 "
                                        "docs, 1 thread", loss)},
                 {"measured", measured}, {"met", measured.is_null() ? json(nullptr) : json(measured.get<double>() >= 5)}});
  }
  return t;
}

void print_cpu_summary(const json& cpu) {
  fmt::print("\n{:<24} {:>11} {:>11} {:>11} {:>9} {:>9} {:>9}\n", "case", "jit", "hand", "eager",
             "hand/jit", "eager/jit", "copy/jit");
  auto ms = [](const json& peer) {
    return peer.contains("median_s") ? fmt::format("{:.3f} ms", peer["median_s"].get<double>() * 1e3)
                                     : std::string("-");
  };
  auto ratio = [](const json& r, const char* k) {
    return r.contains(k) ? fmt::format("{:.2f}", r[k].get<double>()) : std::string("-");
  };
  for (const json& row : cpu) {
    const json& p = row["peers"];
    fmt::print("{:<24} {:>11} {:>11} {:>11} {:>9} {:>9} {:>9}\n", row["name"].get<std::string>(),
               ms(p["jit"]), ms(p["hand"]), ms(p["eager"]), ratio(row["ratios"], "hand_over_jit"),
               ratio(row["ratios"], "eager_over_jit"), ratio(row["ratios"], "memcpy_over_jit"));
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  options.source_dir = LOSSCC_SOURCE_DIR;
  options.examples_dir = options.source_dir + "/examples";
  std::string json_path;
  std::vector<int> sizes;

  CLI::App app{"losscc-bench: fused loss kernels against LibTorch eager, a hand-written loop, "
               "the interpreter, memcpy and (with --python) torch.compile"};
  app.add_option("--json", json_path, "write every figure, with machine info, to this file");
  app.add_option("--filter", options.filter, "only cases whose name matches this regex "
                 "(e.g. 'cpu/logmin', '2\\^22', 'compile/')");
  app.add_flag("--quick", options.quick, "a tiny subset in a few seconds (smoke test)");
  app.add_option("--python", options.python, "Python with torch: also run benchmarks/peers/torch_peer.py")
      ->check(CLI::ExistingFile);
  app.add_option("--examples", options.examples_dir, "folder of .loss files")->check(CLI::ExistingDirectory);
  app.add_option("--sizes", sizes, "log2 of N, e.g. --sizes 10 22 (default 10 14 18 22 26)")
      ->check(CLI::Range(0, 30));
  app.add_option("--compile-samples", options.compile_samples, "random candidates for compile latency")
      ->check(CLI::PositiveNumber);
  app.add_option("--min-time", options.policy.min_time_s, "seconds of timed calls per figure (at least)");
  CLI11_PARSE(app, argc, argv);

  try {
    std::regex check(options.filter);
  } catch (const std::regex_error& e) {
    fmt::print(stderr, "losscc-bench: --filter is not a valid regex: {}\n", e.what());
    return 2;
  }
  if (options.quick) {
    options.log2_sizes = {10, 12};
    options.compile_samples = std::min(options.compile_samples, 8);
    options.policy = {1, 3, 50, 0.01};
    if (options.filter == ".*") options.filter = "(bce|logmin|compile/(llvm|nvrtc/b[18]|cache_hit))";
  } else {
    options.log2_sizes = {10, 14, 18, 22, 26};
  }
  if (!sizes.empty()) options.log2_sizes = sizes;

  std::vector<LossCase> losses;
  try {
    losses = load_examples(options);
  } catch (const std::exception& e) {
    fmt::print(stderr, "losscc-bench: {}\n", e.what());
    return 1;
  }
  if (losses.empty()) {
    fmt::print(stderr, "losscc-bench: no .loss files in {}\n", options.examples_dir);
    return 1;
  }

  json doc = {{"schema", "losscc-bench/1"}, {"command", [&] {
                 std::string c;
                 for (int i = 0; i < argc; ++i) c += (i ? " " : "") + std::string(argv[i]);
                 return c;
               }()}};
  doc["machine"] = machine_info(options);
  doc["config"] = {{"quick", options.quick}, {"filter", options.filter}, {"log2_sizes", options.log2_sizes},
                   {"losses", [&] { json l = json::array(); for (auto& c : losses) l.push_back(c.name); return l; }()},
                   {"warmup", options.policy.warmup}, {"min_repeats", options.policy.min_repeats},
                   {"min_time_s", options.policy.min_time_s}, {"seed", options.seed},
                   {"timing", "median (and p90) of per-call wall time after warm-up; N >= 2^24: 1 warm-up, 3 calls"}};

  fmt::print(stderr, "losscc-bench: {} losses, N = 2^{{{}}}\n", losses.size(), fmt::join(options.log2_sizes, ","));
  fmt::print(stderr, "cpu:\n");
  json cpu = run_cpu(options, losses);
  fmt::print(stderr, "memory:\n");
  doc["memory"] = run_memory(options, losses);
  fmt::print(stderr, "compile:\n");
  doc["compile"] = run_compile(options, losses);
  fmt::print(stderr, "gpu:\n");
  doc["gpu"] = run_gpu(options, losses);
  fmt::print(stderr, "ranking:\n");
  doc["ranking"] = run_ranking(options);
  fmt::print(stderr, "torch (python):\n");
  doc["torch"] = run_python_peer(options, losses);
  join_torch_ratios(cpu, doc["torch"]);
  doc["cpu"] = cpu;
  doc["targets"] = targets(cpu, doc["compile"], doc["ranking"]);

  print_cpu_summary(cpu);
  for (const json& t : doc["targets"]) {
    fmt::print("target: {:<70} measured {} met {}\n", t["target"].get<std::string>(), t["measured"].dump(),
               t["met"].dump());
  }
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    out << doc.dump(1) << "\n";
    if (!out) {
      fmt::print(stderr, "losscc-bench: cannot write {}\n", json_path);
      return 1;
    }
    fmt::print(stderr, "wrote {}\n", json_path);
  }
  return 0;
}
