// Program → LLVM IR for `losscc_loop` (ABI in llvm_codegen.h), with IRBuilder.
//
// Two functions:
//   losscc_body(in0, .., g0, .., begin, end, scale)  internal; every array is a
//       separate `noalias` argument, so the vectoriser needs no overlap checks
//       (after inlining the guarantee survives as scoped-noalias metadata);
//   losscc_loop(inputs, grads, begin, end, scale)     the exported ABI: loads
//       the array pointers and calls the body.
//
// The reduction: the loss sum is the only instruction with a fast-math flag,
// `reassoc` on its fadd, which is what lets the loop vectoriser keep one
// partial sum per lane (and per interleaved copy) and add them at the end.
// Every other instruction is plain IEEE, so the per-element values and the
// gradients are what expr.h says (up to libmvec's ulps).
#include <cmath>
#include <iterator>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>

#include "compiler/codegen/llvm/internal.h"
#include "compiler/codegen/llvm/llvm_codegen.h"

namespace losscc::llvm_backend {
namespace {

using llvm::Value;

struct Emitter {
  llvm::IRBuilder<>& b;
  llvm::Module& m;

  Value* f(double v) { return llvm::ConstantFP::get(b.getFloatTy(), static_cast<float>(v)); }
  Value* intrinsic(llvm::Intrinsic::ID id, Value* x) { return b.CreateUnaryIntrinsic(id, x); }
  // A float(float) libm function with no side effects (we never read errno),
  // which is what allows the vectoriser to replace it by its libmvec variant
  // (see the table in optimize.cpp).
  Value* libm(const char* name, Value* x) {
    llvm::FunctionCallee callee =
        m.getOrInsertFunction(name, b.getFloatTy(), b.getFloatTy());
    auto* fn = llvm::cast<llvm::Function>(callee.getCallee());
    fn->setDoesNotAccessMemory();
    fn->setDoesNotThrow();
    fn->addFnAttr(llvm::Attribute::WillReturn);
    return b.CreateCall(callee, {x});
  }
  Value* positive(Value* x) { return b.CreateFCmpOGT(x, f(0)); }  // false for NaN
};

// x^k for an integer k ≥ 1 by repeated squaring (expr.h allows multiplies).
Value* int_pow(Emitter& e, Value* x, uint64_t k) {
  Value* result = nullptr;
  for (Value* p = x; k != 0; k >>= 1) {
    if (k & 1) result = result ? e.b.CreateFMul(result, p) : p;
    if (k > 1) p = e.b.CreateFMul(p, p);
  }
  return result;
}

Value* emit_pow(Emitter& e, const Node& n, Value* a, Value* b) {
  const double k = n.arg(1)->value();
  if (k == 0) return e.f(1);  // pow(x, 0) = 1 for every x, NaN included
  if (k == std::floor(k) && std::fabs(k) <= 64) {
    Value* p = int_pow(e, a, static_cast<uint64_t>(std::fabs(k)));
    return k > 0 ? p : e.b.CreateFDiv(e.f(1), p);
  }
  return e.b.CreateBinaryIntrinsic(llvm::Intrinsic::pow, a, b);
}

// 1/(1+e^-|a|) for a ≥ 0, e^-|a|/(1+e^-|a|) otherwise: exp never overflows.
Value* emit_sigmoid(Emitter& e, const Node&, Value* a, Value*) {
  Value* t = e.intrinsic(llvm::Intrinsic::exp,
                         e.b.CreateFNeg(e.intrinsic(llvm::Intrinsic::fabs, a)));
  Value* denom = e.b.CreateFAdd(e.f(1), t);
  Value* nonneg = e.b.CreateFCmpOGE(a, e.f(0));  // NaN takes the second arm → NaN
  return e.b.CreateSelect(nonneg, e.b.CreateFDiv(e.f(1), denom), e.b.CreateFDiv(t, denom));
}

// max(a,0) + log1p(e^-|a|).
Value* emit_softplus(Emitter& e, const Node&, Value* a, Value*) {
  Value* t = e.intrinsic(llvm::Intrinsic::exp,
                         e.b.CreateFNeg(e.intrinsic(llvm::Intrinsic::fabs, a)));
  return e.b.CreateFAdd(e.b.CreateMaxNum(a, e.f(0)), e.libm("log1pf", t));
}

using EmitFn = Value* (*)(Emitter&, const Node&, Value* a, Value* b);
struct OpEmission {
  Op op;
  EmitFn emit;
};

// One line per IR op (leaves are handled by the loop). a, b are the operands'
// values (b is null for unary ops).
const OpEmission kEmissions[] = {
    {Op::Neg, [](Emitter& e, const Node&, Value* a, Value*) { return e.b.CreateFNeg(a); }},
    {Op::Add, [](Emitter& e, const Node&, Value* a, Value* b) { return e.b.CreateFAdd(a, b); }},
    {Op::Sub, [](Emitter& e, const Node&, Value* a, Value* b) { return e.b.CreateFSub(a, b); }},
    {Op::Mul, [](Emitter& e, const Node&, Value* a, Value* b) { return e.b.CreateFMul(a, b); }},
    {Op::Div, [](Emitter& e, const Node&, Value* a, Value* b) { return e.b.CreateFDiv(a, b); }},
    {Op::Pow, emit_pow},
    {Op::Log, [](Emitter& e, const Node&, Value* a, Value*) { return e.intrinsic(llvm::Intrinsic::log, a); }},
    {Op::Exp, [](Emitter& e, const Node&, Value* a, Value*) { return e.intrinsic(llvm::Intrinsic::exp, a); }},
    {Op::Sqrt, [](Emitter& e, const Node&, Value* a, Value*) { return e.intrinsic(llvm::Intrinsic::sqrt, a); }},
    {Op::Abs, [](Emitter& e, const Node&, Value* a, Value*) { return e.intrinsic(llvm::Intrinsic::fabs, a); }},
    {Op::Sign,
     [](Emitter& e, const Node&, Value* a, Value*) {
       Value* negative = e.b.CreateFCmpOLT(a, e.f(0));
       return e.b.CreateSelect(e.positive(a), e.f(1), e.b.CreateSelect(negative, e.f(-1), e.f(0)));
     }},
    {Op::Step,
     [](Emitter& e, const Node&, Value* a, Value*) {
       return e.b.CreateSelect(e.positive(a), e.f(1), e.f(0));
     }},
    {Op::Sigmoid, emit_sigmoid},
    {Op::Tanh, [](Emitter& e, const Node&, Value* a, Value*) { return e.libm("tanhf", a); }},
    {Op::Relu,
     [](Emitter& e, const Node&, Value* a, Value*) {
       return e.b.CreateSelect(e.positive(a), a, e.f(0));
     }},
    {Op::Softplus, emit_softplus},
    {Op::Log1p, [](Emitter& e, const Node&, Value* a, Value*) { return e.libm("log1pf", a); }},
    {Op::Expm1, [](Emitter& e, const Node&, Value* a, Value*) { return e.libm("expm1f", a); }},
    {Op::Detach, [](Emitter&, const Node&, Value* a, Value*) { return a; }},
    {Op::Min, [](Emitter& e, const Node&, Value* a, Value* b) -> Value* { return e.b.CreateMinNum(a, b); }},
    {Op::Max, [](Emitter& e, const Node&, Value* a, Value* b) -> Value* { return e.b.CreateMaxNum(a, b); }},
};
static_assert(std::size(kEmissions) == kNumElementwiseOps - 2 + 1, "one emission per non-leaf elementwise op (and Detach)");

EmitFn emission(Op op) {
  for (const OpEmission& e : kEmissions)
    if (e.op == op) return e.emit;
  throw std::logic_error("llvm backend: no emission for op " + std::string(op_info(op).name));
}

// losscc_body: the loop over [begin, end) with one noalias pointer per array.
llvm::Function* build_body(const Program& program, llvm::Module& m) {
  llvm::LLVMContext& ctx = m.getContext();
  llvm::IRBuilder<> b(ctx);
  const size_t n_in = program.fn.inputs.size(), n_grad = program.stored_outputs();
  if (program.outputs.size() != 1 + n_grad)
    throw std::invalid_argument("llvm backend: program needs 1 + stored_outputs() outputs");

  std::vector<llvm::Type*> params(n_in + n_grad, b.getFloatTy()->getPointerTo());
  params.insert(params.end(), {b.getInt64Ty(), b.getInt64Ty(), b.getFloatTy()});
  auto* fn = llvm::Function::Create(llvm::FunctionType::get(b.getFloatTy(), params, false),
                                    llvm::Function::InternalLinkage, "losscc_body", m);
  for (size_t p = 0; p < n_in + n_grad; ++p) {
    fn->addParamAttr(p, llvm::Attribute::NoAlias);
    fn->addParamAttr(p, llvm::Attribute::NoCapture);
  }
  llvm::Value* begin = fn->getArg(n_in + n_grad);
  llvm::Value* end = fn->getArg(n_in + n_grad + 1);
  llvm::Value* scale = fn->getArg(n_in + n_grad + 2);

  auto* entry = llvm::BasicBlock::Create(ctx, "entry", fn);
  auto* loop = llvm::BasicBlock::Create(ctx, "loop", fn);
  auto* exit = llvm::BasicBlock::Create(ctx, "exit", fn);
  b.SetInsertPoint(entry);
  b.CreateCondBr(b.CreateICmpSLT(begin, end), loop, exit);

  b.SetInsertPoint(loop);
  llvm::PHINode* i = b.CreatePHI(b.getInt64Ty(), 2, "i");
  llvm::PHINode* acc = b.CreatePHI(b.getFloatTy(), 2, "acc");
  i->addIncoming(begin, entry);
  acc->addIncoming(llvm::ConstantFP::get(b.getFloatTy(), 0.0), entry);

  Emitter e{b, m};
  std::unordered_map<const Node*, Value*> value;
  for (const Node* node : program.nodes()) {
    Value* v;
    if (node->is_const()) {
      v = e.f(node->value());
    } else if (node->is_input()) {
      const int k = program.fn.input_index(node->name());
      if (k < 0) throw std::invalid_argument("llvm backend: undeclared input " + node->name());
      v = b.CreateLoad(b.getFloatTy(), b.CreateInBoundsGEP(b.getFloatTy(), fn->getArg(k), i),
                       node->name());
    } else {
      Value* lhs = value.at(node->arg(0).get());
      Value* rhs = node->args().size() > 1 ? value.at(node->arg(1).get()) : nullptr;
      v = emission(node->op())(e, *node, lhs, rhs);
    }
    value.emplace(node, v);
  }
  for (size_t k = 0; k < n_grad; ++k) {
    Value* g = b.CreateFMul(scale, value.at(program.outputs[1 + k].get()));
    b.CreateStore(g, b.CreateInBoundsGEP(b.getFloatTy(), fn->getArg(n_in + k), i));
  }
  auto* sum = llvm::cast<llvm::Instruction>(b.CreateFAdd(acc, value.at(program.outputs[0].get())));
  llvm::FastMathFlags reassoc;
  reassoc.setAllowReassoc();
  sum->setFastMathFlags(reassoc);

  Value* next = b.CreateAdd(i, b.getInt64(1), "i.next", /*HasNUW=*/false, /*HasNSW=*/true);
  i->addIncoming(next, loop);
  acc->addIncoming(sum, loop);
  b.CreateCondBr(b.CreateICmpSLT(next, end), loop, exit);

  b.SetInsertPoint(exit);
  llvm::PHINode* result = b.CreatePHI(b.getFloatTy(), 2, "loss");
  result->addIncoming(llvm::ConstantFP::get(b.getFloatTy(), 0.0), entry);
  result->addIncoming(sum, loop);
  b.CreateRet(result);
  return fn;
}

// losscc_loop: the exported ABI, unpacking the pointer arrays for the body.
void build_entry(const Program& program, llvm::Function* body, llvm::Module& m) {
  llvm::IRBuilder<> b(m.getContext());
  llvm::Type* f32_ptr = b.getFloatTy()->getPointerTo();
  llvm::Type* ptr_array = f32_ptr->getPointerTo();
  auto* fn = llvm::Function::Create(
      llvm::FunctionType::get(b.getFloatTy(),
                              {ptr_array, ptr_array, b.getInt64Ty(), b.getInt64Ty(), b.getFloatTy()},
                              false),
      llvm::Function::ExternalLinkage, kLoopSymbol, m);
  b.SetInsertPoint(llvm::BasicBlock::Create(m.getContext(), "entry", fn));
  std::vector<Value*> args;
  auto unpack = [&](Value* array, size_t count) {
    for (size_t k = 0; k < count; ++k)
      args.push_back(b.CreateLoad(f32_ptr, b.CreateConstInBoundsGEP1_64(f32_ptr, array, k)));
  };
  unpack(fn->getArg(0), program.fn.inputs.size());
  unpack(fn->getArg(1), program.stored_outputs());
  for (unsigned p = 2; p < 5; ++p) args.push_back(fn->getArg(p));  // begin, end, scale
  b.CreateRet(b.CreateCall(body, args));
}

}  // namespace

llvm::Value* emit_elementwise(llvm::IRBuilder<>& b, llvm::Module& m, const Node& node, llvm::Value* lhs,
                              llvm::Value* rhs) {
  if (node.is_const()) return llvm::ConstantFP::get(b.getFloatTy(), static_cast<float>(node.value()));
  Emitter e{b, m};
  return emission(node.op())(e, node, lhs, rhs);
}

std::unique_ptr<llvm::Module> build_module(const Program& program, llvm::LLVMContext& ctx) {
  auto m = std::make_unique<llvm::Module>("losscc", ctx);
  if (program.grouped())
    build_groups(program, *m);
  else
    build_entry(program, build_body(program, *m), *m);
  std::string error;
  llvm::raw_string_ostream os(error);
  if (llvm::verifyModule(*m, &os))
    throw std::logic_error("llvm backend: emitted invalid IR: " + os.str());
  return m;
}

}  // namespace losscc::llvm_backend
