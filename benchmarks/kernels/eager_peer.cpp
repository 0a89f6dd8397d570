#include "benchmarks/kernels/eager_peer.h"

#include <torch/autograd.h>

#include <array>
#include <stdexcept>
#include <string>
#include <unordered_map>

namespace losscc::bench {
namespace {

using Unary = at::Tensor (*)(const at::Tensor&);
using Binary = at::Tensor (*)(const at::Tensor&, const at::Tensor&);

// One line per IR op: how PyTorch would spell it. Pow and Const/Input are
// handled in run(); a null entry means "not an op of this arity".
struct Lowering {
  Unary unary = nullptr;
  Binary binary = nullptr;
};

const std::array<Lowering, kNumOps>& lowering_table() {
  static const std::array<Lowering, kNumOps> table = [] {
    std::array<Lowering, kNumOps> t{};
    auto un = [&](Op op, Unary f) { t[static_cast<int>(op)].unary = f; };
    auto bin = [&](Op op, Binary f) { t[static_cast<int>(op)].binary = f; };
    un(Op::Neg, [](const at::Tensor& a) { return at::neg(a); });
    un(Op::Log, [](const at::Tensor& a) { return at::log(a); });
    un(Op::Exp, [](const at::Tensor& a) { return at::exp(a); });
    un(Op::Sqrt, [](const at::Tensor& a) { return at::sqrt(a); });
    un(Op::Abs, [](const at::Tensor& a) { return at::abs(a); });
    un(Op::Sign, [](const at::Tensor& a) { return at::sign(a); });
    // step(a) = (a > 0) as float: a comparison, so autograd sees gradient 0.
    un(Op::Step, [](const at::Tensor& a) { return at::gt(a, 0).to(a.scalar_type()); });
    un(Op::Sigmoid, [](const at::Tensor& a) { return at::sigmoid(a); });
    un(Op::Tanh, [](const at::Tensor& a) { return at::tanh(a); });
    un(Op::Relu, [](const at::Tensor& a) { return at::relu(a); });
    un(Op::Softplus, [](const at::Tensor& a) { return at::softplus(a); });
    un(Op::Log1p, [](const at::Tensor& a) { return at::log1p(a); });
    un(Op::Expm1, [](const at::Tensor& a) { return at::expm1(a); });
    un(Op::Detach, [](const at::Tensor& a) { return a.detach(); });
    bin(Op::Add, [](const at::Tensor& a, const at::Tensor& b) { return at::add(a, b); });
    bin(Op::Sub, [](const at::Tensor& a, const at::Tensor& b) { return at::sub(a, b); });
    bin(Op::Mul, [](const at::Tensor& a, const at::Tensor& b) { return at::mul(a, b); });
    bin(Op::Div, [](const at::Tensor& a, const at::Tensor& b) { return at::div(a, b); });
    // fmin/fmax are IEEE minNum/maxNum, the IR's Min/Max semantics.
    bin(Op::Min, [](const at::Tensor& a, const at::Tensor& b) { return at::fmin(a, b); });
    bin(Op::Max, [](const at::Tensor& a, const at::Tensor& b) { return at::fmax(a, b); });
    return t;
  }();
  return table;
}

}  // namespace

EagerLoss::EagerLoss(const Program& program)
    : program_(program), order_(schedule({program.fn.body})) {
  const auto& table = lowering_table();
  constants_.resize(order_.size());
  for (size_t i = 0; i < order_.size(); ++i) {
    const Node* node = order_[i];
    const Op op = node->op();
    if (op == Op::Const) {
      // A Python scalar in `x * 2.0` becomes the same kind of 0-dim tensor.
      constants_[i] = at::scalar_tensor(node->value(), at::kFloat);
    } else if (op != Op::Input && op != Op::Pow) {
      const Lowering& l = table[static_cast<int>(op)];
      if ((node->args().size() == 1 ? l.unary == nullptr : l.binary == nullptr)) {
        throw std::invalid_argument("eager peer: no ATen lowering for op '" +
                                    std::string(op_info(op).name) + "'");
      }
    }
  }
}

double EagerLoss::run(const std::vector<at::Tensor>& inputs, std::vector<at::Tensor>* grads) const {
  const auto& table = lowering_table();
  std::vector<at::Tensor> leaves;  // the inputs autograd differentiates
  std::unordered_map<std::string, at::Tensor> bound;
  for (size_t j = 0; j < program_.fn.inputs.size(); ++j) bound[program_.fn.inputs[j].name] = inputs[j];
  for (int g : program_.grad_inputs) {
    at::Tensor leaf = inputs[g].detach().requires_grad_(true);
    bound[program_.fn.inputs[g].name] = leaf;
    leaves.push_back(leaf);
  }

  std::unordered_map<const Node*, at::Tensor> value;
  value.reserve(order_.size());
  for (size_t i = 0; i < order_.size(); ++i) {
    const Node* node = order_[i];
    at::Tensor v;
    switch (node->op()) {
      case Op::Const: v = constants_[i]; break;
      case Op::Input: v = bound.at(node->name()); break;
      case Op::Pow: v = at::pow(value.at(node->arg(0).get()), node->arg(1)->value()); break;
      default: {
        const Lowering& l = table[static_cast<int>(node->op())];
        v = node->args().size() == 1
                ? l.unary(value.at(node->arg(0).get()))
                : l.binary(value.at(node->arg(0).get()), value.at(node->arg(1).get()));
      }
    }
    value.emplace(node, std::move(v));
  }

  at::Tensor body = value.at(program_.fn.body.get());
  if (body.dim() == 0) body = body.expand({inputs.empty() ? 1 : inputs[0].numel()});
  at::Tensor loss = program_.fn.reduction == Reduction::Mean ? body.mean() : body.sum();
  if (grads != nullptr) {
    grads->clear();
    if (!leaves.empty() && loss.requires_grad()) {
      *grads = torch::autograd::grad({loss}, leaves, /*grad_outputs=*/{}, /*retain_graph=*/false,
                                     /*create_graph=*/false, /*allow_unused=*/true);
    }
  }
  return loss.item<double>();
}

}  // namespace losscc::bench
