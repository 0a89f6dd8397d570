// bench_training: one training epoch three ways, in one process, on the same
// data, model and batch order:
//   libtorch  the Trainer with the loss written as LibTorch ops (the peer);
//   compiled  the Trainer with the compiled loss through the autograd op;
//   native    NativeMfTrainer (BiasedMF only): float tables, the compiled
//             kernel called directly, sparse updates.
// With --python PY, benchmarks/peers/biasedmf_epoch.py times the same epoch
// as research code writes it (eager PyTorch, the reference protocol) in the
// same run, after the C++ paths; its medians and the native path's speedup
// over it join the JSON. Prints a table and writes JSON with the medians and
// the ratios.
//
//   bench_training --data ../shared/data/ml100k01-1-5 --optimizer gd --repeats 3 --out training.json
//
// Each repeat trains a fresh, identically seeded model for one epoch with each
// implementation in turn (rotating which goes first), so all see the same
// batches and the same parameter values. Besides the whole epoch, it times the
// loss alone on one batch: forward + backward through the autograd op (and as
// LibTorch ops), and the compiled kernel called directly as the native
// trainer calls it.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/autograd.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "benchmarks/common/stats.h"
#include "compiler/language/parse.h"
#include "compiler/passes/build_program.h"
#include "models/rec/data/load_dataset.h"
#include "models/rec/native_mf.h"
#include "models/rec/rec_model.h"
#include "models/rec/trainer.h"
#include "runtime/kernel.h"
#include "runtime/torch/compiled_loss.h"

namespace {

using namespace losscc;
using losscc::bench::median;
using namespace losscc::models;

// An example loss and the same formula with LibTorch ops (inputs: pred, label).
struct BenchLoss {
  std::string name;
  BatchLoss torch_ops;
};

const std::vector<BenchLoss>& bench_losses() {
  static const std::vector<BenchLoss> table = {
      {"bce",
       [](const std::vector<at::Tensor>& x) {
         return -(x[1] * at::log(x[0]) + (1 - x[1]) * at::log(1 - x[0])).mean();
       }},
      {"logmin",
       [](const std::vector<at::Tensor>& x) {
         const double eps = 1e-6;
         at::Tensor m = at::min(x[1], x[0]);
         return (at::log(1 / (m + eps) + eps) * (m + x[1] + x[0])).mean();
       }},
  };
  return table;
}

double seconds(const std::function<void()>& work) {
  const auto start = std::chrono::steady_clock::now();
  work();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Median seconds of `calls` loss forward+backward calls on one batch.
double time_loss_alone(const BatchLoss& loss, int64_t batch, int calls) {
  at::manual_seed(0);
  const at::Tensor pred = (at::rand({batch}) * 0.9 + 0.05).requires_grad_(true);
  const at::Tensor label = at::randint(0, 2, {batch}).to(at::kFloat);
  std::vector<double> times;
  for (int rep = 0; rep < 5; ++rep)
    times.push_back(seconds([&] {
      for (int i = 0; i < calls; ++i) {
        loss({pred, label}).backward();
        pred.mutable_grad().reset();
      }
    }) / calls);
  return median(times);
}

// Median seconds of one direct kernel call (loss and ∂loss/∂pred) on one
// batch, as NativeMfTrainer makes it.
double time_kernel_alone(const LossFunction& fn, int64_t batch, int calls) {
  const std::shared_ptr<const rt::Kernel> kernel = rt::get_kernel(build_program(fn, {0}), rt::CompileOptions{});
  std::vector<float> pred(batch), label(batch), grad(batch);
  for (int64_t i = 0; i < batch; ++i) {
    pred[i] = 0.05f + 0.9f * static_cast<float>((i * 7919) % 1000) / 1000.0f;
    label[i] = static_cast<float>(i % 2);
  }
  rt::HostArgs args;
  args.n = batch;
  args.threads = 1;
  args.inputs = {pred.data(), label.data()};
  args.grads = {grad.data()};
  double sink = 0;
  std::vector<double> times;
  for (int rep = 0; rep < 5; ++rep)
    times.push_back(seconds([&] {
      for (int i = 0; i < calls; ++i) sink += kernel->run(args);
    }) / calls);
  if (sink == 42.0) fmt::print(" ");  // keep the calls
  return median(times);
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir, model_kind = "biasedmf", out, python;
  int repeats = 3, threads = 1;
  TrainConfig config;
  CLI::App app{"Time one training epoch: compiled loss vs. the same loss as LibTorch ops"};
  app.add_option("--data", data_dir, "dataset folder")->required()->check(CLI::ExistingDirectory);
  app.add_option("--model", model_kind, "model")->check(CLI::IsMember(model_kinds()))->capture_default_str();
  app.add_option("--repeats", repeats, "epochs timed per implementation")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--optimizer", config.optimizer, "optimizer (the reference protocol uses gd)")
      ->check(CLI::IsMember(optimizer_names()))->capture_default_str();
  app.add_option("--lr", config.lr, "learning rate")->capture_default_str();
  app.add_option("--batch", config.batch, "minibatch size")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--threads", threads, "LibTorch CPU threads")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--out", out, "write the results as JSON");
  app.add_option("--python", python, "Python with torch: also time the eager PyTorch epoch "
                 "(benchmarks/peers/biasedmf_epoch.py) in this run")->check(CLI::ExistingFile);
  CLI11_PARSE(app, argc, argv);

  try {
    at::set_num_threads(threads);
    const Dataset data = load_dataset(data_dir);
    nlohmann::json results = nlohmann::json::array();
    const bool native = model_kind == "biasedmf";
    fmt::print("{} epoch on {} ({} rows, batch {}, {}, {} thread(s)), median of {}\n", model_kind, data.name,
               data.train.size(), config.batch, config.optimizer, threads, repeats);
    fmt::print("{:8} {:>11} {:>11} {:>11} {:>8} {:>8}   {:>9} {:>9} {:>9}\n", "loss", "libtorch s",
               "compiled s", "native s", "ratio c", "ratio n", "ops µs", "op µs", "kernel µs");
    for (const BenchLoss& bench : bench_losses()) {
      const LossFunction fn = parse_loss_file(std::string(LOSSCC_SOURCE_DIR) + "/examples/" + bench.name + ".loss");
      const CompiledLoss compiled(fn);
      const BatchLoss ours = [compiled](const std::vector<at::Tensor>& x) { return compiled(x); };
      std::vector<double> ours_s, ops_s, native_s;
      auto epoch = [&](const BatchLoss& loss) {
        Trainer trainer(make_model(model_kind, data.num_users, data.num_items, 1), fn, config, loss);
        return seconds([&] { trainer.train_epoch(data.train); });
      };
      auto native_epoch = [&] {
        NativeMfTrainer trainer(data.num_users, data.num_items, 1, fn, config);
        return seconds([&] { trainer.train_epoch(data.train); });
      };
      const std::vector<std::function<void()>> runs = {
          [&] { ops_s.push_back(epoch(bench.torch_ops)); }, [&] { ours_s.push_back(epoch(ours)); },
          [&] { if (native) native_s.push_back(native_epoch()); }};
      for (int rep = 0; rep < repeats; ++rep)
        for (size_t k = 0; k < runs.size(); ++k) runs[(k + rep) % runs.size()]();
      const double ours_epoch = median(ours_s), ops_epoch = median(ops_s);
      const double native_epoch_s = native ? median(native_s) : 0.0;
      const double ours_loss = time_loss_alone(ours, config.batch, 2000);
      const double ops_loss = time_loss_alone(bench.torch_ops, config.batch, 2000);
      const double kernel_call = time_kernel_alone(fn, config.batch, 20000);
      fmt::print("{:8} {:11.3f} {:11.3f} {:11.3f} {:8.2f} {:8.2f}   {:9.2f} {:9.2f} {:9.2f}\n", bench.name,
                 ops_epoch, ours_epoch, native_epoch_s, ops_epoch / ours_epoch,
                 native ? ops_epoch / native_epoch_s : 0.0, ops_loss * 1e6, ours_loss * 1e6, kernel_call * 1e6);
      nlohmann::json row = {{"loss", bench.name},
                            {"epoch_seconds_compiled", ours_epoch},
                            {"epoch_seconds_libtorch", ops_epoch},
                            {"epoch_speedup", ops_epoch / ours_epoch},
                            {"epoch_seconds_compiled_all", ours_s},
                            {"epoch_seconds_libtorch_all", ops_s},
                            {"loss_call_us_compiled", ours_loss * 1e6},
                            {"loss_call_us_libtorch", ops_loss * 1e6},
                            {"loss_call_speedup", ops_loss / ours_loss},
                            {"kernel_call_us", kernel_call * 1e6},
                            {"host_backend", std::string(rt::backend_name(compiled.host_backend()))}};
      if (native) {
        row["epoch_seconds_native"] = native_epoch_s;
        row["epoch_seconds_native_all"] = native_s;
        row["native_speedup"] = ops_epoch / native_epoch_s;
      }
      results.push_back(row);
    }
    fmt::print("ratio c / n = LibTorch-ops epoch / compiled-op epoch, / native epoch (> 1: faster than the peer);\n"
               "ops µs, op µs: loss fwd+bwd on one batch as LibTorch ops, through the autograd op;\n"
               "kernel µs: the compiled kernel called directly, as the native trainer calls it\n");
    nlohmann::json python_peer;
    if (!python.empty() && model_kind == "biasedmf") {
      const std::string peer_out = fmt::format("{}/bench-training-peer-{}.json",
                                               std::filesystem::temp_directory_path().string(), ::getpid());
      const std::string cmd = fmt::format("'{}' '{}/benchmarks/peers/biasedmf_epoch.py' --data '{}' --optimizer {} "
                                          "--lr {} --repeats {} --json '{}'",
                                          python, LOSSCC_SOURCE_DIR, data_dir, config.optimizer, config.lr, repeats,
                                          peer_out);
      fmt::print("eager PyTorch peer: {}\n", cmd);
      std::fflush(stdout);
      std::ifstream in;
      if (std::system(cmd.c_str()) == 0 && (in.open(peer_out), in)) {
        python_peer = nlohmann::json::parse(in);
        std::filesystem::remove(peer_out);
        for (nlohmann::json& row : results) {
          const std::string loss = row["loss"];
          if (!python_peer["losses"].contains(loss) || !row.contains("epoch_seconds_native")) continue;
          const double eager = python_peer["losses"][loss]["median_s"];
          row["epoch_seconds_pytorch_eager"] = eager;
          row["native_speedup_over_pytorch_eager"] = eager / row["epoch_seconds_native"].get<double>();
          fmt::print("{:8} eager PyTorch epoch {:.3f} s: native is {:.1f}x faster\n", loss, eager,
                     row["native_speedup_over_pytorch_eager"].get<double>());
        }
      } else {
        python_peer = {{"skipped", "the peer script failed"}};
      }
    }
    if (!out.empty()) {
      nlohmann::json json = {{"benchmark", "training_epoch"}, {"data", data.name}, {"model", model_kind},
                             {"batch", config.batch}, {"optimizer", config.optimizer}, {"lr", config.lr},
                             {"threads", threads}, {"repeats", repeats},
                             {"results", results}};
      if (!python_peer.is_null()) json["pytorch_eager_peer"] = python_peer;
      std::ofstream(out) << json.dump(2) << "\n";
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "bench_training: {}\n", e.what());
    return 1;
  }
  return 0;
}
