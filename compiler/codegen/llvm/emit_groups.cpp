// Grouped (ranking) Program → LLVM IR for `losscc_groups` (ABI in
// llvm_codegen.h): a loop over queries; per query, the stages of
// compiler/ir/query_plan.h, each a loop over the documents; pairsum and rank
// add an inner loop over the documents j, and a scan (prefix_sum, suffix_sum)
// is a call to the run-time helpers of scan_helpers.h before its stage's loop.
//
// Loop-carried values (the loss sum, the reductions, the inner sums) live in
// allocas that mem2reg turns into phis. Their additions carry `reassoc`, as
// in the pointwise loop, so the vectoriser may split the inner pair loops
// (whose terms are branch-free: a pair outside the condition contributes
// select(false, term, 0) = 0, never a NaN term) into lanes.
//
// A qmax loop vectorises only when its maxnum may ignore NaNs (LLVM 14 wants
// `nnan` on the recurrence), so the loop feeds it no NaN: a NaN document
// enters as -inf, which is what the IR's fold from -inf makes of it anyway.
#include <limits>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>

#include "compiler/codegen/llvm/internal.h"
#include "compiler/codegen/llvm/llvm_codegen.h"
#include "compiler/codegen/llvm/scan_helpers.h"
#include "compiler/ir/query_plan.h"

namespace losscc::llvm_backend {
namespace {

using llvm::Value;

class GroupEmitter {
 public:
  GroupEmitter(const Program& p, llvm::Module& m) : p_(p), plan_(p), m_(m), b_(m.getContext()) {}

  void build() {
    llvm::LLVMContext& ctx = m_.getContext();
    llvm::Type* f32 = b_.getFloatTy();
    llvm::Type* i64 = b_.getInt64Ty();
    llvm::Type* f32_ptr = f32->getPointerTo();
    auto* type = llvm::FunctionType::get(
        f32, {f32_ptr->getPointerTo(), f32_ptr->getPointerTo(), i64->getPointerTo(), i64, i64, f32, f32_ptr}, false);
    fn_ = llvm::Function::Create(type, llvm::Function::ExternalLinkage, kGroupSymbol, m_);
    entry_ = llvm::BasicBlock::Create(ctx, "entry", fn_);
    b_.SetInsertPoint(entry_);
    for (size_t k = 0; k < p_.fn.inputs.size(); ++k)
      inputs_.push_back(b_.CreateLoad(f32_ptr, b_.CreateConstInBoundsGEP1_64(f32_ptr, fn_->getArg(0), k)));
    for (size_t k = 0; k < p_.stored_outputs(); ++k)
      grads_.push_back(b_.CreateLoad(f32_ptr, b_.CreateConstInBoundsGEP1_64(f32_ptr, fn_->getArg(1), k)));
    scratch_ = fn_->getArg(6);
    Value* loss = alloca_f32("loss.acc", 0.0f);

    for_range(fn_->getArg(3), fn_->getArg(4), "query", [&](Value* q) {
      Value* offsets = fn_->getArg(2);
      base_ = b_.CreateLoad(i64, b_.CreateInBoundsGEP(i64, offsets, q), "base");
      Value* next = b_.CreateLoad(i64, b_.CreateInBoundsGEP(i64, offsets, b_.CreateAdd(q, b_.getInt64(1))));
      n_ = b_.CreateSub(next, base_, "n");
      scalar_.clear();
      sorted_.clear();
      for (int s = 0; s < plan_.stages; ++s) stage(s);
      // Gradients that are per query (or constant): the same at every document.
      std::vector<size_t> broadcast;
      for (size_t k = 0; k < grads_.size(); ++k)
        if (p_.outputs[1 + k]->level() == Level::Query) broadcast.push_back(k);
      if (!broadcast.empty())
        for_range(b_.getInt64(0), n_, "broadcast", [&](Value* i) {
          for (size_t k : broadcast) store_grad(k, i, scalar_.at(p_.outputs[1 + k].get()));
        });
      accumulate(loss, scalar_.at(p_.outputs[0].get()));
    });
    b_.CreateRet(b_.CreateLoad(f32, loss));
  }

 private:
  // ---- helpers -----------------------------------------------------------------

  Value* f(double v) { return llvm::ConstantFP::get(b_.getFloatTy(), static_cast<float>(v)); }

  // An alloca in the entry block (where mem2reg wants it), set to `init` here.
  Value* alloca_f32(const char* name, float init) {
    llvm::IRBuilder<> at(entry_, entry_->begin());
    Value* slot = at.CreateAlloca(b_.getFloatTy(), nullptr, name);
    b_.CreateStore(f(init), slot);
    return slot;
  }

  void accumulate(Value* slot, Value* v) {
    auto* sum = llvm::cast<llvm::Instruction>(b_.CreateFAdd(b_.CreateLoad(b_.getFloatTy(), slot), v));
    llvm::FastMathFlags reassoc;
    reassoc.setAllowReassoc();
    sum->setFastMathFlags(reassoc);
    b_.CreateStore(sum, slot);
  }

  // The qmax step (see the top of the file): NaN enters as -inf, so the
  // `nnan` that lets the loop vectorise is true.
  void max_accumulate(const Node* r, Value* v) {
    Value* clean = b_.CreateSelect(b_.CreateFCmpORD(v, v), v, f(-std::numeric_limits<double>::infinity()));
    auto* max = llvm::cast<llvm::Instruction>(
        b_.CreateMaxNum(b_.CreateLoad(b_.getFloatTy(), reduction_.at(r)), clean));
    llvm::FastMathFlags no_nans;
    no_nans.setNoNaNs();
    no_nans.setNoSignedZeros();
    max->setFastMathFlags(no_nans);
    b_.CreateStore(max, reduction_.at(r));
  }

  // for (i = begin; i < end; ++i) body(i)
  template <class Body>
  void for_range(Value* begin, Value* end, const std::string& name, Body body) {
    llvm::LLVMContext& ctx = m_.getContext();
    llvm::BasicBlock* pre = b_.GetInsertBlock();
    auto* head = llvm::BasicBlock::Create(ctx, name + ".head", fn_);
    auto* loop = llvm::BasicBlock::Create(ctx, name + ".body", fn_);
    auto* exit = llvm::BasicBlock::Create(ctx, name + ".exit", fn_);
    b_.CreateBr(head);
    b_.SetInsertPoint(head);
    llvm::PHINode* i = b_.CreatePHI(b_.getInt64Ty(), 2, name);
    i->addIncoming(begin, pre);
    b_.CreateCondBr(b_.CreateICmpSLT(i, end), loop, exit);
    b_.SetInsertPoint(loop);
    body(i);
    Value* next = b_.CreateAdd(i, b_.getInt64(1), name + ".next", /*HasNUW=*/false, /*HasNSW=*/true);
    i->addIncoming(next, b_.GetInsertBlock());
    b_.CreateBr(head);
    b_.SetInsertPoint(exit);
  }

  Value* load_input(const Node* x, Value* doc) {
    const int k = p_.fn.input_index(x->name());
    if (k < 0) throw std::invalid_argument("llvm backend: undeclared input " + x->name());
    return b_.CreateLoad(b_.getFloatTy(), b_.CreateInBoundsGEP(b_.getFloatTy(), inputs_[k], b_.CreateAdd(base_, doc)),
                         x->name());
  }
  Value* scratch_at(const Node* x, Value* doc) {
    Value* index = b_.CreateAdd(b_.CreateMul(b_.getInt64(plan_.slot.at(x)), n_), doc);
    return b_.CreateInBoundsGEP(b_.getFloatTy(), scratch_, index);
  }
  void store_grad(size_t k, Value* doc, Value* v) {
    b_.CreateStore(b_.CreateFMul(fn_->getArg(5), v),
                   b_.CreateInBoundsGEP(b_.getFloatTy(), grads_[k], b_.CreateAdd(base_, doc)));
  }

  // A per-query or per-document node's value at document `doc`; `current`
  // holds the nodes computed in this iteration of the current loop.
  Value* at(const Node* x, Value* doc, const std::unordered_map<const Node*, Value*>& current) {
    if (x->level() == Level::Query) return scalar_.at(x);
    auto it = current.find(x);
    if (it != current.end()) return it->second;
    if (x->is_input()) return load_input(x, doc);
    return b_.CreateLoad(b_.getFloatTy(), scratch_at(x, doc));
  }
  // The same at another document j: never from the current iteration.
  Value* at_other(const Node* x, Value* j) {
    static const std::unordered_map<const Node*, Value*> none;
    return at(x, j, none);
  }

  // ---- stages ------------------------------------------------------------------

  void stage(int s) {
    // Per-query values: reductions completed by the previous loop, then the rest.
    for (const Node* x : plan_.scalars(s)) {
      Value* v;
      if (x->op() == Op::QSum || x->op() == Op::QMax) v = b_.CreateLoad(b_.getFloatTy(), reduction_.at(x));
      else if (x->op() == Op::QCount) v = b_.CreateSIToFP(n_, b_.getFloatTy());
      else if (x->is_const()) v = f(x->value());
      else
        v = emit_elementwise(b_, m_, *x, scalar_.at(x->arg(0).get()),
                             x->args().size() > 1 ? scalar_.at(x->arg(1).get()) : nullptr);
      scalar_[x] = v;
    }
    // A scan that is itself a gradient is stored by this stage's loop.
    std::vector<size_t> scan_grads;
    for (const Node* x : plan_.scans(s)) {
      scan(x);
      for (size_t k = 0; k < grads_.size(); ++k)
        if (p_.outputs[1 + k].get() == x) scan_grads.push_back(k);
    }
    const std::vector<const Node*> loop = plan_.loop(s);
    const std::vector<const Node*> reductions = plan_.reductions(s);
    if (loop.empty() && reductions.empty() && scan_grads.empty()) return;
    for (const Node* r : reductions)
      reduction_[r] = alloca_f32("reduce", r->op() == Op::QMax ? -std::numeric_limits<float>::infinity() : 0.0f);

    for_range(b_.getInt64(0), n_, "doc" + std::to_string(s), [&](Value* i) {
      std::unordered_map<const Node*, Value*> current;
      for (const Node* x : loop) {
        Value* v;
        if (x->is_input()) v = load_input(x, i);
        else if (x->op() == Op::Rank) v = rank(x, i, current);
        else if (x->op() == Op::PairSum) v = pairsum(x, i, current);
        else
          v = emit_elementwise(b_, m_, *x, at(x->arg(0).get(), i, current),
                               x->args().size() > 1 ? at(x->arg(1).get(), i, current) : nullptr);
        current[x] = v;
        if (plan_.slot.count(x)) b_.CreateStore(v, scratch_at(x, i));
        for (size_t k = 0; k < grads_.size(); ++k)
          if (p_.outputs[1 + k].get() == x) store_grad(k, i, v);
      }
      for (size_t k : scan_grads) store_grad(k, i, at(p_.outputs[1 + k].get(), i, current));
      for (const Node* r : reductions) {
        Value* v = at(r->arg(0).get(), i, current);
        if (r->op() == Op::QSum) accumulate(reduction_.at(r), v);
        else max_accumulate(r, v);
      }
    });
  }

  // 1 + #{j : x_j > x_i or (x_j == x_i and j < i)}
  Value* rank(const Node* x, Value* i, const std::unordered_map<const Node*, Value*>& current) {
    Value* xi = at(x->arg(0).get(), i, current);
    Value* count = alloca_f32("rank", 1.0f);
    for_range(b_.getInt64(0), n_, "rank", [&](Value* j) {
      Value* xj = at_other(x->arg(0).get(), j);
      Value* above = b_.CreateOr(b_.CreateFCmpOGT(xj, xi),
                                 b_.CreateAnd(b_.CreateFCmpOEQ(xj, xi), b_.CreateICmpSLT(j, i)));
      accumulate(count, b_.CreateSelect(above, f(1), f(0)));
    });
    return b_.CreateLoad(b_.getFloatTy(), count);
  }

  // Σ_{j ≠ i, c > 0} e
  Value* pairsum(const Node* x, Value* i, const std::unordered_map<const Node*, Value*>& current) {
    Value* sum = alloca_f32("pairsum", 0.0f);
    for_range(b_.getInt64(0), n_, "pair", [&](Value* j) {
      std::unordered_map<const Node*, Value*> pair;
      auto operand = [&](const Node* a) -> Value* {
        if (a->level() == Level::Pair) return pair.at(a);
        return at(a, i, current);
      };
      for (const Node* y : plan_.pair_nodes.at(x)) {
        if (y->op() == Op::Other) pair[y] = at_other(y->arg(0).get(), j);
        else
          pair[y] = emit_elementwise(b_, m_, *y, operand(y->arg(0).get()),
                                     y->args().size() > 1 ? operand(y->arg(1).get()) : nullptr);
      }
      Value* keep = b_.CreateAnd(b_.CreateICmpNE(j, i), b_.CreateFCmpOGT(operand(x->arg(0).get()), f(0)));
      accumulate(sum, b_.CreateSelect(keep, operand(x->arg(1).get()), f(0)));
    });
    return b_.CreateLoad(b_.getFloatTy(), sum);
  }

  // A scan: the key's order (sorted by the first scan of that key), then the
  // sums in that order into the scan's scratch slot.
  void scan(const Node* x) {
    llvm::Type* i32_ptr = b_.getInt32Ty()->getPointerTo();
    const Node* key = x->arg(0).get();
    Value* index = b_.CreateMul(b_.getInt64(plan_.order_slot.at(key)), n_);
    Value* order = b_.CreatePointerCast(b_.CreateInBoundsGEP(b_.getFloatTy(), scratch_, index), i32_ptr);
    if (sorted_.insert(key).second) {
      auto [keys, key_stride] = array(key);
      b_.CreateCall(helper(kScanOrderSymbol, {keys->getType(), b_.getInt64Ty(), b_.getInt64Ty(), i32_ptr}),
                    {keys, key_stride, n_, order});
    }
    auto [values, stride] = array(x->arg(1).get());
    Value* out = scratch_at(x, b_.getInt64(0));
    b_.CreateCall(helper(kScanSumsSymbol, {values->getType(), b_.getInt64Ty(), b_.getInt64Ty(), i32_ptr,
                                           b_.getInt32Ty(), out->getType()}),
                  {values, stride, n_, order, b_.getInt32(x->op() == Op::SuffixSum), out});
  }

  // A per-document value's array for this query, stride 1, or a per-query
  // value in a slot of its own, stride 0.
  std::pair<Value*, Value*> array(const Node* x) {
    if (x->level() == Level::Query) {
      llvm::IRBuilder<> at(entry_, entry_->begin());
      Value* slot = at.CreateAlloca(b_.getFloatTy(), nullptr, "scan.scalar");
      b_.CreateStore(scalar_.at(x), slot);
      return {slot, b_.getInt64(0)};
    }
    if (x->is_input()) {
      const int k = p_.fn.input_index(x->name());
      return {b_.CreateInBoundsGEP(b_.getFloatTy(), inputs_.at(k), base_), b_.getInt64(1)};
    }
    return {scratch_at(x, b_.getInt64(0)), b_.getInt64(1)};
  }

  llvm::FunctionCallee helper(const char* name, std::vector<llvm::Type*> params) {
    return m_.getOrInsertFunction(name, llvm::FunctionType::get(b_.getVoidTy(), params, false));
  }

  const Program& p_;
  QueryPlan plan_;
  llvm::Module& m_;
  llvm::IRBuilder<> b_;
  llvm::Function* fn_ = nullptr;
  llvm::BasicBlock* entry_ = nullptr;
  std::vector<Value*> inputs_, grads_;
  Value* scratch_ = nullptr;
  Value* base_ = nullptr;
  Value* n_ = nullptr;
  std::unordered_map<const Node*, Value*> scalar_;     // per-query values of this query
  std::unordered_map<const Node*, Value*> reduction_;  // accumulators (allocas)
  std::unordered_set<const Node*> sorted_;             // keys whose order this query has
};

}  // namespace

void build_groups(const Program& program, llvm::Module& m) { GroupEmitter(program, m).build(); }

int scratch_slots(const Program& program) { return program.grouped() ? QueryPlan(program).slots : 0; }

}  // namespace losscc::llvm_backend
