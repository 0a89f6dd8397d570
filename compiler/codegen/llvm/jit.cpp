// JitModule: one ORC LLJIT per compiled program, linking the object file
// made by compile_to_object. A JIT per module keeps ownership simple: the
// code lives exactly as long as the JitModule, and modules share nothing.
#include <stdexcept>

#include <llvm/Config/llvm-config.h>
#include <llvm/ExecutionEngine/Orc/Core.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/Support/MemoryBuffer.h>
#if LLVM_VERSION_MAJOR >= 18
#include <llvm/ExecutionEngine/Orc/AbsoluteSymbols.h>
#endif

#include "compiler/codegen/llvm/internal.h"
#include "compiler/codegen/llvm/llvm_codegen.h"
#include "compiler/codegen/llvm/scan_helpers.h"

namespace losscc::llvm_backend {
namespace {

template <typename T>
T check(llvm::Expected<T> value, const char* what) {
  if (!value) throw std::runtime_error(std::string("llvm jit: ") + what + ": " +
                                       llvm::toString(value.takeError()));
  return std::move(*value);
}

// The scan helpers (scan_helpers.h), by address: a Python extension's symbols
// are not in the process's global scope, so they cannot be looked up there.
llvm::orc::SymbolMap scan_helpers(llvm::orc::LLJIT& jit) {
  llvm::orc::SymbolMap symbols;
  auto add = [&](const char* name, auto* fn) {
#if LLVM_VERSION_MAJOR >= 17
    symbols[jit.mangleAndIntern(name)] = {llvm::orc::ExecutorAddr::fromPtr(fn), llvm::JITSymbolFlags::Exported};
#else
    symbols[jit.mangleAndIntern(name)] =
        llvm::JITEvaluatedSymbol(llvm::pointerToJITTargetAddress(fn), llvm::JITSymbolFlags::Exported);
#endif
  };
  add(kScanOrderSymbol, &losscc_scan_order_f32);
  add(kScanSumsSymbol, &losscc_scan_sums_f32);
  return symbols;
}

}  // namespace

struct JitModule::Impl {
  std::unique_ptr<llvm::orc::LLJIT> jit;
};

JitModule JitModule::compile(const Program& program) {
  return load(compile_to_object(program), program.grouped());
}

JitModule JitModule::load(std::string_view object_file, bool grouped) {
  auto impl = std::make_unique<Impl>();
  impl->jit = check(
      llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(host_machine_builder()).create(),
      "create");
  // Unresolved symbols (libm's tanhf, libmvec's _ZGVdN8v_logf, ...) come
  // from the process, which host_machine_builder() made load libmvec.
  llvm::orc::JITDylib& dylib = impl->jit->getMainJITDylib();
  dylib.addGenerator(check(llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
                               impl->jit->getDataLayout().getGlobalPrefix()),
                           "process symbols"));
  if (llvm::Error err = dylib.define(llvm::orc::absoluteSymbols(scan_helpers(*impl->jit))))
    throw std::runtime_error("llvm jit: scan helpers: " + llvm::toString(std::move(err)));
  if (llvm::Error err = impl->jit->addObjectFile(llvm::MemoryBuffer::getMemBufferCopy(
          llvm::StringRef(object_file.data(), object_file.size()), "losscc.o")))
    throw std::runtime_error("llvm jit: add object: " + llvm::toString(std::move(err)));
  const auto symbol = check(impl->jit->lookup(grouped ? kGroupSymbol : kLoopSymbol), "link");
  JitModule module(std::move(impl));
  const auto address = static_cast<uintptr_t>(symbol.getAddress());
  if (grouped) module.groups_ = reinterpret_cast<GroupFn>(address);
  else module.loop_ = reinterpret_cast<LoopFn>(address);
  return module;
}

JitModule::JitModule(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JitModule::JitModule(JitModule&&) noexcept = default;
JitModule& JitModule::operator=(JitModule&&) noexcept = default;
JitModule::~JitModule() = default;

}  // namespace losscc::llvm_backend
