// The optimisation pipeline: LLVM's O3 for the host machine, with glibc's
// libmvec registered as the vector math library. That registration is the
// whole trick: the loop vectoriser may then turn a scalar `logf` into one
// `_ZGVdN8v_logf` call per 8 elements instead of scalarising the loop.
#include <llvm/Analysis/TargetLibraryInfo.h>
#include <llvm/Passes/PassBuilder.h>

#include "compiler/codegen/llvm/internal.h"

namespace losscc::llvm_backend {
namespace {

// LLVM 14's LIBMVEC-X86 table knows sin/cos/exp/log/pow only; libmvec also
// exports these (checked with `nm -D libmvec.so.1`), and the IR calls them
// for tanh, log1p (also inside softplus) and expm1. Same widths as LLVM's
// table: SSE 4 lanes (`b`), AVX2 8 lanes (`d`).
void add_more_libmvec(llvm::TargetLibraryInfoImpl& tli) {
  static const llvm::VecDesc extra[] = {
      {"tanhf", "_ZGVbN4v_tanhf", llvm::ElementCount::getFixed(4)},
      {"tanhf", "_ZGVdN8v_tanhf", llvm::ElementCount::getFixed(8)},
      {"log1pf", "_ZGVbN4v_log1pf", llvm::ElementCount::getFixed(4)},
      {"log1pf", "_ZGVdN8v_log1pf", llvm::ElementCount::getFixed(8)},
      {"expm1f", "_ZGVbN4v_expm1f", llvm::ElementCount::getFixed(4)},
      {"expm1f", "_ZGVdN8v_expm1f", llvm::ElementCount::getFixed(8)},
  };
  tli.addVectorizableFunctions(extra);
}

}  // namespace

void optimize(llvm::Module& module, llvm::TargetMachine& tm) {
  llvm::TargetLibraryInfoImpl tli(tm.getTargetTriple());
  if (libmvec_loaded()) {
    tli.addVectorizableFunctionsFromVecLib(llvm::TargetLibraryInfoImpl::LIBMVEC_X86);
    add_more_libmvec(tli);
  }

  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  // Registered before the builder's defaults, so it is the one used.
  fam.registerPass([&] { return llvm::TargetLibraryAnalysis(tli); });

  llvm::PipelineTuningOptions tuning;
  tuning.LoopVectorization = true;
  tuning.SLPVectorization = true;
  tuning.LoopInterleaving = true;
  tuning.LoopUnrolling = true;
  llvm::PassBuilder builder(&tm, tuning);
  builder.registerModuleAnalyses(mam);
  builder.registerCGSCCAnalyses(cgam);
  builder.registerFunctionAnalyses(fam);
  builder.registerLoopAnalyses(lam);
  builder.crossRegisterProxies(lam, fam, cgam, mam);
  builder.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3).run(module, mam);
}

}  // namespace losscc::llvm_backend
