// Shared by the .cpp files of this folder only: the one place LLVM types
// appear. Never include from outside compiler/codegen/llvm/.
#pragma once

#include <memory>

#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Target/TargetMachine.h>

#include "compiler/ir/program.h"

namespace losscc::llvm_backend {

// emit.cpp: the unoptimised module defining `losscc_loop`, or `losscc_groups`
// for a grouped program (see llvm_codegen.h).
std::unique_ptr<llvm::Module> build_module(const Program& program, llvm::LLVMContext& ctx);
// emit.cpp: one elementwise op (or a Const) at its operands' values.
llvm::Value* emit_elementwise(llvm::IRBuilder<>& b, llvm::Module& m, const Node& node, llvm::Value* lhs,
                              llvm::Value* rhs);
// emit_groups.cpp: defines `losscc_groups` in `m`.
void build_groups(const Program& program, llvm::Module& m);

// target.cpp: initialises LLVM's native target once per process and loads
// libmvec; the builder every compile and every JIT uses (host CPU, O3, PIC).
const llvm::orc::JITTargetMachineBuilder& host_machine_builder();
bool libmvec_loaded();

// optimize.cpp: the O3 pipeline with libmvec as the vector library, for `tm`.
void optimize(llvm::Module& module, llvm::TargetMachine& tm);

}  // namespace losscc::llvm_backend
