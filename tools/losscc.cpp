// losscc: the compiler's command line. One action per call; every action reads
// one `.loss` file. Exit status: 0 success, 1 `--check` found the loss invalid,
// 2 any error (bad flags, unreadable file, compile error), with a clear message
// on stderr. `losscc explain FILE.loss` tells what a loss does
// (compiler/explain). It lives in runtime/ because --run runs kernels: the
// compiler layer below knows no runtime.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "compiler/codegen/cuda/emit_cuda.h"
#include "compiler/codegen/torch/emit_torch.h"
#include "compiler/explain/explain.h"
#include "compiler/explain/plots.h"
#include "compiler/interp/interp.h"
#include "compiler/ir/print.h"
#include "compiler/language/assignments.h"
#include "compiler/language/parse.h"
#include "compiler/passes/build_program.h"
#include "compiler/passes/check.h"
#include "compiler/passes/grad.h"
#include "compiler/passes/simplify.h"
#include "runtime/kernel.h"
#ifdef LOSSCC_HAVE_LLVM
#include "compiler/codegen/llvm/llvm_codegen.h"
#endif
#ifdef LOSSCC_HAVE_NVRTC
#include "compiler/codegen/nvrtc/nvrtc_compile.h"
#include "runtime/cuda/driver.h"
#endif

namespace losscc {
namespace {

using json = nlohmann::json;

struct Options {
  std::string file;
  std::vector<std::string> defines;  // name=value
  bool print_ir = false, simplify = false, grad = false, hessian = false, check = false;
  bool emit_cuda = false, emit_ptx = false, emit_llvm = false, emit_torch = false;
  std::string eval;  // "pred=0.3,label=1"
  bool run_given = false;
  int64_t run = 0;
  int64_t list_size = 10;  // documents per query for --run on a ranking loss
  std::string backend;  // empty: cpu where LLVM is built in, else interp
  uint64_t seed = 1;
  int threads = 0;
  std::string gpu_arch = "compute_90";
};

// A usage or input error: printed as one line, exit 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::vector<std::string> input_names(const LossFunction& fn) {
  std::vector<std::string> names;
  for (const InputDecl& in : fn.inputs) names.push_back(in.name);
  return names;
}

int print_gradients(const LossFunction& fn) {
  const std::vector<std::string> names = input_names(fn);
  std::vector<Expr> grads = gradient(fn.body, names);
  for (size_t i = 0; i < names.size(); ++i) {
    LossFunction g = fn;
    g.body = simplify(grads[i]);
    fmt::print("# d loss / d {}\n{}", names[i], to_loss_source(g));
  }
  return 0;
}

// The Hessian's diagonal of every trained input, as the fused kernel built
// with it computes (build_program(..., with_hessian)).
int print_hessians(const LossFunction& fn) {
  const Program p = build_program(fn, trained_inputs(fn), /*with_hessian=*/true);
  const size_t G = p.grad_inputs.size();
  for (size_t k = 0; k < G; ++k) {
    LossFunction h = fn;
    h.body = p.outputs[1 + G + k];
    const std::string& name = fn.inputs[p.grad_inputs[k]].name;
    fmt::print("# d² loss / d {}² (the diagonal)\n{}", name, to_loss_source(h));
  }
  return 0;
}

int evaluate_one(const LossFunction& fn, const std::string& assignments) {
  if (fn.grouped())
    throw UsageError("--eval evaluates one element; a ranking loss needs lists of documents (use --run N --list-size K)");
  std::map<std::string, double> env = parse_assignments({assignments}, "--eval");
  for (const InputDecl& in : fn.inputs)
    if (!env.count(in.name)) throw UsageError(fmt::format("--eval: no value for input '{}'", in.name));
  for (const auto& [name, value] : env)
    if (!fn.find_input(name)) throw UsageError(fmt::format("--eval: '{}' is not an input of the loss", name));
  const std::vector<std::string> names = input_names(fn);
  std::vector<Expr> grads = gradient(fn.body, names);
  json out;
  out["value"] = eval(fn.body, env);
  out["grad"] = json::object();
  for (size_t i = 0; i < names.size(); ++i) out["grad"][names[i]] = eval(grads[i], env);
  std::cout << out.dump() << '\n';
  return 0;
}

// Random inputs drawn from each input's declared domain.
std::vector<std::vector<float>> random_inputs(const LossFunction& fn, int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<float>> data;
  for (const InputDecl& in : fn.inputs) {
    std::vector<float> column(static_cast<size_t>(n));
    std::uniform_real_distribution<float> open01(1e-4f, 1.0f - 1e-4f), unit(0.0f, 1.0f);
    std::bernoulli_distribution coin(0.5);
    std::normal_distribution<float> score(0.0f, 3.0f);
    for (float& v : column) {
      switch (in.domain) {
        case Domain::Probability: v = open01(rng); break;
        case Domain::Binary: v = coin(rng) ? 1.0f : 0.0f; break;
        case Domain::Unit: v = unit(rng); break;
        case Domain::Real: v = score(rng); break;
        case Domain::Grade: v = static_cast<float>(std::uniform_int_distribution<int>(0, 4)(rng)); break;
      }
    }
    data.push_back(std::move(column));
  }
  return data;
}

rt::Backend backend_by_name(const std::string& name) {
  static const std::map<std::string, rt::Backend> kBackends = {
      {"cpu", rt::Backend::Llvm}, {"cuda", rt::Backend::Cuda}, {"interp", rt::Backend::Interp}};
  auto it = kBackends.find(name);
  if (it == kBackends.end()) throw UsageError(fmt::format("unknown backend '{}' (cpu, cuda, interp)", name));
  return it->second;
}

// Runs `kernel` once on host columns, through device memory for CUDA.
// Returns the reduced loss; fills `grads`.
double run_kernel(const rt::Kernel& kernel, const std::vector<std::vector<float>>& inputs,
                  std::vector<std::vector<float>>& grads, int threads, const std::vector<int64_t>& offsets) {
  const int64_t n = inputs.empty() ? 0 : static_cast<int64_t>(inputs[0].size());
  if (kernel.backend() != rt::Backend::Cuda) {
    rt::HostArgs args;
    args.n = n;
    args.threads = threads;
    if (!offsets.empty()) {
      args.offsets = offsets.data();
      args.queries = static_cast<int64_t>(offsets.size()) - 1;
    }
    for (const auto& column : inputs) args.inputs.push_back(column.data());
    for (auto& column : grads) args.grads.push_back(column.data());
    return kernel.run(args);
  }
#ifdef LOSSCC_HAVE_NVRTC
  const size_t bytes = static_cast<size_t>(n) * sizeof(float);
  std::vector<rt::DeviceBuffer> device_inputs, device_grads;
  rt::DeviceArgs args;
  args.n = n;
  for (const auto& column : inputs) {
    device_inputs.emplace_back(bytes);
    device_inputs.back().upload(column.data(), bytes);
    args.inputs.push_back(device_inputs.back().as<const float>());
  }
  for (size_t k = 0; k < grads.size(); ++k) {
    device_grads.emplace_back(bytes);
    args.grads.push_back(device_grads.back().as<float>());
  }
  rt::DeviceBuffer loss(sizeof(float));
  args.loss = loss.as<float>();
  kernel.run_device(args);
  rt::cuda_synchronize();
  for (size_t k = 0; k < grads.size(); ++k) device_grads[k].download(grads[k].data(), bytes);
  float value = 0;
  loss.download(&value, sizeof value);
  return value;
#else
  throw UsageError("this losscc was built without the CUDA backend");
#endif
}

int run_random(const LossFunction& fn, const Options& opt) {
  if (opt.run <= 0) throw UsageError("--run needs a positive element count");
  rt::Backend backend = opt.backend.empty()
                            ? (rt::backend_available(rt::Backend::Llvm) ? rt::Backend::Llvm : rt::Backend::Interp)
                            : backend_by_name(opt.backend);
  if (!rt::backend_available(backend))
    throw UsageError(fmt::format("--backend {}: not available on this machine", opt.backend));
  Program program = build_program(fn);
  auto t0 = std::chrono::steady_clock::now();
  std::shared_ptr<const rt::Kernel> kernel = rt::get_kernel(program, {backend});
  double compile_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  // A ranking loss runs on --run queries of --list-size documents each.
  std::vector<int64_t> offsets;
  int64_t n = opt.run;
  if (program.grouped()) {
    if (opt.list_size <= 0) throw UsageError("--list-size needs a positive document count");
    for (int64_t q = 0; q <= opt.run; ++q) offsets.push_back(q * opt.list_size);
    n = opt.run * opt.list_size;
  }
  std::vector<std::vector<float>> inputs = random_inputs(fn, n, opt.seed);
  std::vector<std::vector<float>> grads(program.grad_inputs.size(), std::vector<float>(n));
  auto t1 = std::chrono::steady_clock::now();
  double loss = run_kernel(*kernel, inputs, grads, opt.threads, offsets);
  double run_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();

  json out;
  out["backend"] = std::string(rt::backend_name(backend));
  out["n"] = n;
  if (program.grouped()) {
    out["queries"] = opt.run;
    out["list_size"] = opt.list_size;
  }
  out["seed"] = opt.seed;
  out["loss"] = loss;
  double checksum = 0;
  out["grad_sums"] = json::object();
  for (size_t k = 0; k < grads.size(); ++k) {
    double sum = 0;
    for (float g : grads[k]) sum += g;
    out["grad_sums"][fn.inputs[program.grad_inputs[k]].name] = sum;
    checksum += sum;
  }
  out["grad_checksum"] = checksum;
  out["compile_seconds"] = compile_seconds;  // includes a cache lookup
  out["kernel_compile_seconds"] = kernel->compile_seconds();
  out["run_seconds"] = run_seconds;  // for CUDA: includes the copies to and from the device
  std::cout << out.dump() << '\n';
  return 0;
}

int run_action(const Options& opt) {
  LossFunction parsed = parse_loss_file(opt.file, parse_assignments(opt.defines, "-D"));
  LossFunction fn = simplify(parsed);
  if (opt.print_ir) {
    fmt::print("{}", to_ir_listing({parsed.body}));
    return 0;
  }
  if (opt.grad) return print_gradients(fn);
  if (opt.hessian) return print_hessians(fn);
  if (opt.check) {
    CheckReport report = check(fn);
    std::cout << report.to_json().dump(2) << '\n';
    return report.valid ? 0 : 1;
  }
  if (!opt.eval.empty()) return evaluate_one(fn, opt.eval);
  if (opt.emit_cuda) {
    fmt::print("{}", cuda::emit_cuda(build_program(fn)));
    return 0;
  }
  if (opt.emit_torch) {
    torch_codegen::TorchEmitOptions torch;
    torch.function_name = torch_codegen::python_function_name(std::filesystem::path(opt.file).stem().string());
    torch.source_name = std::filesystem::path(opt.file).filename().string();
    fmt::print("{}", torch_codegen::emit_torch(fn, torch));
    return 0;
  }
  if (opt.emit_ptx) {
#ifdef LOSSCC_HAVE_NVRTC
    cuda::NvrtcOptions nvrtc;
    nvrtc.target = opt.gpu_arch;
    cuda::NvrtcResult result = cuda::nvrtc_compile(cuda::emit_cuda(build_program(fn)), nvrtc);
    if (result.is_cubin) throw UsageError("--gpu-arch must name a virtual architecture (compute_XX) for PTX");
    fmt::print("{}", result.image.c_str());  // PTX text is NUL-terminated inside the image
    return 0;
#else
    throw UsageError("this losscc was built without NVRTC (CUDA toolkit not found at build time)");
#endif
  }
  if (opt.emit_llvm) {
#ifdef LOSSCC_HAVE_LLVM
    fmt::print("{}", llvm_backend::emit_llvm_ir(build_program(fn)));
    return 0;
#else
    throw UsageError("this losscc was built without LLVM (llvm-dev not found at build time)");
#endif
  }
  if (opt.run_given) return run_random(fn, opt);
  fmt::print("{}", to_loss_source(fn));  // default action: --simplify
  return 0;
}

// losscc explain: the loss by label value, its domain and verdict; then the
// card (DIR/NAME.card.json and its picture DIR/NAME.png).
int explain_command(int argc, char** argv) {
  std::string file, card_dir = ".";
  std::vector<std::string> defines;
  bool no_card = false;
  CLI::App app{"losscc explain: what a loss does, by label value, with its check verdict and a picture", "losscc explain"};
  app.add_option("file", file, "the .loss file")->required()->check(CLI::ExistingFile);
  app.add_option("-D", defines, "override a param: -D name=value (repeatable)");
  app.add_option("--card-dir", card_dir, "write NAME.card.json and NAME.png here")->capture_default_str();
  app.add_flag("--no-card", no_card, "print only");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "losscc explain: {}\n", e.what());
    return 2;
  }
  const LossFunction fn = parse_loss_file(file, parse_assignments(defines, "-D"));
  const Explanation e = explain(fn);
  fmt::print("{}", format_explanation(fn, e));
  if (no_card) return 0;
  const std::string name = std::filesystem::path(file).stem().string();
  std::filesystem::create_directories(card_dir);
  const std::string json_path = (std::filesystem::path(card_dir) / (name + ".card.json")).string();
  const std::string png_path = (std::filesystem::path(card_dir) / (name + ".png")).string();
  std::ofstream(json_path) << loss_card(fn, name).dump(1) << '\n';
  const PlotOutcome plot = run_plotter({"card", json_path, png_path});
  fmt::print("card: {}{}\n", json_path, plot.ok ? ", " + png_path : "; " + plot.why);
  return 0;
}

}  // namespace
}  // namespace losscc

int main(int argc, char** argv) {
  using namespace losscc;
  if (argc > 1 && std::strcmp(argv[1], "explain") == 0) {
    try {
      return explain_command(argc - 1, argv + 1);
    } catch (const CompileError& e) {
      fmt::print(stderr, "{}", e.render());
      return 2;
    } catch (const std::exception& e) {
      fmt::print(stderr, "losscc explain: {}\n", e.what());
      return 2;
    }
  }
  Options opt;
  CLI::App app{"losscc: compile a .loss file (see docs/LANGUAGE.md); `losscc explain FILE` tells what a loss does",
               "losscc"};
  app.add_option("file", opt.file, "the .loss file")->required()->check(CLI::ExistingFile);
  app.add_option("-D", opt.defines, "override a param: -D name=value (repeatable)");
  auto* actions = app.add_option_group("action", "what to do (default: --simplify)");
  actions->add_flag("--print-ir", opt.print_ir, "print the parsed IR as a numbered DAG listing");
  actions->add_flag("--simplify", opt.simplify, "print the simplified loss in .loss syntax");
  actions->add_flag("--grad", opt.grad, "print the simplified gradient of every input");
  actions->add_flag("--hessian", opt.hessian,
                    "print the Hessian's diagonal of every trained input (what boosting objectives need)");
  actions->add_flag("--check", opt.check, "print the validity report as JSON; exit 0 valid, 1 invalid");
  actions->add_option("--eval", opt.eval, "evaluate one element: --eval 'pred=0.3,label=1'");
  actions->add_flag("--emit-cuda", opt.emit_cuda, "print the fused CUDA C kernel");
  actions->add_flag("--emit-torch", opt.emit_torch,
                    "print a self-contained PyTorch function computing the loss");
  actions->add_flag("--emit-ptx", opt.emit_ptx, "compile the kernel with NVRTC and print PTX");
  actions->add_flag("--emit-llvm", opt.emit_llvm, "print the optimised LLVM IR of the CPU kernel");
  CLI::Option* run = actions->add_option("--run", opt.run, "compile and run on N random inputs; print JSON");
  actions->require_option(0, 1);
  app.add_option("--backend", opt.backend,
                 "backend for --run: cpu, cuda or interp (default: cpu; interp in a build without LLVM)")
      ->check(CLI::IsMember({"cpu", "cuda", "interp"}));
  app.add_option("--seed", opt.seed, "random seed for --run");
  app.add_option("--threads", opt.threads, "threads for --run (0: all cores)");
  app.add_option("--list-size", opt.list_size,
                 "documents per query for --run on a ranking loss (--run N: N queries; default 10)");
  app.add_option("--gpu-arch", opt.gpu_arch, "NVRTC target for --emit-ptx (e.g. compute_90)");
  try {
    app.parse(argc, argv);
    opt.run_given = run->count() > 0;
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "losscc: {}\n", e.what());
    return 2;
  }
  try {
    return run_action(opt);
  } catch (const CompileError& e) {
    fmt::print(stderr, "{}", e.render());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "losscc: {}\n", e.what());
    return 2;
  }
}
