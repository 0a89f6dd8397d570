// The torch.compile peer: writes the losses as IR (a JSON node list that
// benchmarks/peers/torch_peer.py turns into torch ops through one table) and
// runs the script under the interpreter given by --python, in the same
// process run as the C++ peers, so its figures sit beside theirs.

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>
#include <unordered_map>

#include <unistd.h>

#include "benchmarks/kernels/bench.h"

namespace losscc::bench {
namespace {

// The peer script's op spelling (its UNARY/BINARY tables).
const char* peer_op_name(Op op) {
  switch (op) {
    case Op::Const: return "const";
    case Op::Input: return "input";
    case Op::Neg: return "neg";
    case Op::Add: return "add";
    case Op::Sub: return "sub";
    case Op::Mul: return "mul";
    case Op::Div: return "div";
    case Op::Pow: return "pow";
    case Op::Log: return "log";
    case Op::Exp: return "exp";
    case Op::Sqrt: return "sqrt";
    case Op::Abs: return "abs";
    case Op::Sign: return "sign";
    case Op::Step: return "step";
    case Op::Sigmoid: return "sigmoid";
    case Op::Tanh: return "tanh";
    case Op::Relu: return "relu";
    case Op::Softplus: return "softplus";
    case Op::Log1p: return "log1p";
    case Op::Expm1: return "expm1";
    case Op::Detach: return "detach";
    case Op::Min: return "min";
    case Op::Max: return "max";
  }
  return "?";
}

json loss_spec(const LossCase& c) {
  const LossFunction& fn = c.program.fn;
  std::vector<const Node*> order = schedule({fn.body});
  std::unordered_map<const Node*, int> index;
  json nodes = json::array();
  for (const Node* node : order) {
    index[node] = static_cast<int>(nodes.size());
    json j = {{"op", peer_op_name(node->op())}};
    if (node->op() == Op::Const) j["value"] = node->value();
    if (node->op() == Op::Input) j["name"] = node->name();
    if (node->op() == Op::Pow) {
      j["args"] = {index.at(node->arg(0).get())};
      j["exponent"] = node->arg(1)->value();
    } else if (!node->args().empty()) {
      json args = json::array();
      for (const Expr& a : node->args()) args.push_back(index.at(a.get()));
      j["args"] = args;
    }
    nodes.push_back(j);
  }
  json inputs = json::array();
  for (const InputDecl& in : fn.inputs) inputs.push_back({{"name", in.name}, {"domain", domain_name(in.domain)}});
  return {{"name", c.name}, {"inputs", inputs}, {"grad_inputs", c.program.grad_inputs},
          {"reduction", reduction_name(fn.reduction)}, {"nodes", nodes}};
}

}  // namespace

json run_python_peer(const Options& options, const std::vector<LossCase>& losses) {
  if (options.python.empty()) return {{"skipped", "no --python given"}};
  json spec = {{"seed", options.seed}, {"min_time_s", options.policy.min_time_s}};
  std::vector<int> sizes;
  for (int k : options.log2_sizes) if (k <= 24) sizes.push_back(k);  // 2^26 eager+compiled: too long
  spec["log2_sizes"] = sizes;
  const int hw = std::max(1u, std::thread::hardware_concurrency());
  spec["threads"] = hw > 1 ? json{1, hw} : json{1};
  json specs = json::array();
  for (const LossCase& c : losses) {
    if (options.selected("torch/" + c.name + "/")) specs.push_back(loss_spec(c));
  }
  if (specs.empty()) return {{"skipped", "no loss selected"}};
  spec["losses"] = specs;

  const std::string dir = std::getenv("TMPDIR") != nullptr ? std::getenv("TMPDIR") : "/tmp";
  const std::string spec_path = fmt::format("{}/losscc-bench-peer-{}.spec.json", dir, ::getpid());
  const std::string out_path = fmt::format("{}/losscc-bench-peer-{}.out.json", dir, ::getpid());
  std::ofstream(spec_path) << spec.dump(1);
  const std::string script = options.source_dir + "/benchmarks/peers/torch_peer.py";
  const std::string cmd = fmt::format("'{}' '{}' --spec '{}' --json '{}'{}", options.python, script,
                                      spec_path, out_path, options.quick ? " --no-compile" : "");
  fmt::print(stderr, "  {}\n", cmd);
  int rc = std::system(cmd.c_str());
  std::remove(spec_path.c_str());
  std::ifstream in(out_path);
  if (rc != 0 || !in) return {{"skipped", fmt::format("peer script failed (exit status {})", rc)}};
  json result = json::parse(in);
  std::remove(out_path.c_str());
  result["run"] = "in the same losscc-bench process run, after the C++ sections";
  return result;
}

}  // namespace losscc::bench
