// The target: LLVM initialisation, the machine every compile and JIT uses,
// the cache-key string, and the two outputs of a compile (IR text for
// people, an object file for the JIT and the disk cache).
//
// The CPU is pinned to a baseline (jit_cpu()), not detected: the vector
// width sets the order of the kernels' reassociated sums and which libmvec
// variant runs, so a kernel compiled for the host would give a search's
// workers on different machines different rewards for the same candidate.
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <stdexcept>

#include <llvm/ADT/StringMap.h>
#include <llvm/Config/llvm-config.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/Support/DynamicLibrary.h>
#include <llvm/Support/Host.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>

#include "compiler/codegen/llvm/internal.h"
#include "compiler/codegen/llvm/llvm_codegen.h"
#include "compiler/ir/stable_hash.h"

namespace losscc::llvm_backend {
namespace {

// x86-64-v3 (AVX2 and FMA, 8 float lanes: Intel since 2013, AMD since 2015)
// is as fast here as the host's AVX-512 code, where x86-64-v2's 4 lanes
// run 2.5x slower (losscc-bench, bce/focal/logmin at 2^22). Elsewhere, LLVM's
// generic CPU of the process's architecture.
llvm::orc::JITTargetMachineBuilder pinned_machine(std::string cpu) {
  const llvm::Triple triple(llvm::sys::getProcessTriple());
  const bool x86 = triple.getArch() == llvm::Triple::x86_64;
  if (cpu.empty() && x86) {
    llvm::StringMap<bool> host;
    llvm::sys::getHostCPUFeatures(host);
    for (const char* needed : {"avx2", "fma", "bmi2", "f16c", "movbe"})
      if (!host.lookup(needed))
        throw std::runtime_error(std::string("llvm backend: this CPU lacks ") + needed +
                                 ", which the JIT's pinned baseline (x86-64-v3) needs; set LOSSCC_JIT_CPU=x86-64-v2 "
                                 "(every machine of a search must then set it) or LOSSCC_JIT_CPU=host");
  }
  if (cpu.empty()) cpu = x86 ? "x86-64-v3" : "generic";
  llvm::orc::JITTargetMachineBuilder builder{triple};
  builder.setCPU(cpu);
  return builder;
}

struct Host {
  llvm::orc::JITTargetMachineBuilder builder;
  bool libmvec = false;
};

const Host& host() {
  static const Host h = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    // Loaded into the process so the JIT resolves `_ZGV*` like any libc symbol.
    const bool mvec = !llvm::sys::DynamicLibrary::LoadLibraryPermanently("libmvec.so.1");
    const std::string cpu = jit_cpu();
    auto jtmb = cpu == "host" ? llvm::orc::JITTargetMachineBuilder::detectHost()  // CPU name + features
                              : llvm::Expected<llvm::orc::JITTargetMachineBuilder>(pinned_machine(cpu));
    if (!jtmb) throw std::runtime_error("llvm backend: " + llvm::toString(jtmb.takeError()));
    jtmb->setCodeGenOptLevel(llvm::CodeGenOpt::Aggressive);
    // PIC: calls and constants go through the GOT/PLT that the JIT linker
    // builds, so the code may land anywhere relative to libmvec.
    jtmb->setRelocationModel(llvm::Reloc::PIC_);
    return Host{std::move(*jtmb), mvec};
  }();
  return h;
}

std::unique_ptr<llvm::TargetMachine> create_target_machine() {
  llvm::orc::JITTargetMachineBuilder builder = host().builder;  // createTargetMachine is non-const
  auto tm = builder.createTargetMachine();
  if (!tm) throw std::runtime_error("llvm backend: " + llvm::toString(tm.takeError()));
  return std::move(*tm);
}

std::unique_ptr<llvm::Module> optimized_module(const Program& program, llvm::LLVMContext& ctx,
                                               llvm::TargetMachine& tm) {
  auto m = build_module(program, ctx);
  m->setDataLayout(tm.createDataLayout());
  m->setTargetTriple(tm.getTargetTriple().str());
  optimize(*m, tm);
  return m;
}

}  // namespace

std::string jit_cpu() {
  const char* env = std::getenv("LOSSCC_JIT_CPU");
  return env && *env && std::string(env) != "baseline" ? std::string(env) : std::string();
}

const llvm::orc::JITTargetMachineBuilder& host_machine_builder() { return host().builder; }
bool libmvec_loaded() { return host().libmvec; }

const std::string& host_target() {
  static const std::string id = [] {
    const Host& h = host();
    const std::string features = h.builder.getFeatures().getString();
    char hash[17];
    std::snprintf(hash, sizeof hash, "%016llx",
                  static_cast<unsigned long long>(StableHasher(0).add(features).digest()));
    return "llvm" + std::to_string(LLVM_VERSION_MAJOR) + "-" + h.builder.getCPU() + "-" + hash +
           (h.libmvec ? "-mvec" : "");
  }();
  return id;
}

std::string emit_llvm_ir(const Program& program) {
  llvm::LLVMContext ctx;
  auto tm = create_target_machine();
  auto m = optimized_module(program, ctx, *tm);
  std::string text;
  llvm::raw_string_ostream os(text);
  m->print(os, nullptr);
  return os.str();
}

std::string compile_to_object(const Program& program) {
  llvm::LLVMContext ctx;
  auto tm = create_target_machine();
  auto m = optimized_module(program, ctx, *tm);
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream os(buffer);
  llvm::legacy::PassManager codegen;
  if (tm->addPassesToEmitFile(codegen, os, nullptr, llvm::CGFT_ObjectFile))
    throw std::runtime_error("llvm backend: the host target cannot emit object files");
  codegen.run(*m);
  return std::string(buffer.begin(), buffer.end());
}

}  // namespace losscc::llvm_backend
