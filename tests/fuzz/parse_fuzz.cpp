// libFuzzer target for the .loss front end. Any input must either parse or
// raise CompileError — never crash, hang, leak or hit undefined behaviour
// (the target is built with ASan and UBSan) — and whatever parses must print
// and parse back to the very same nodes.
//
//   cmake -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang -DLOSSCC_BUILD_FUZZ=ON
//   ninja -C build-fuzz parse_fuzz && build-fuzz/tests/fuzz/parse_fuzz -dict=tests/fuzz/loss.dict examples/
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "compiler/ir/print.h"
#include "compiler/language/parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view source(reinterpret_cast<const char*>(data), size);
  losscc::LossFunction fn;
  try {
    fn = losscc::parse_loss(source, "fuzz.loss");
  } catch (const losscc::CompileError& e) {
    (void)e.render();  // rendering must cope with whatever the input holds
    return 0;
  }
  std::string printed = losscc::to_loss_source(fn);
  losscc::LossFunction back;
  try {
    back = losscc::parse_loss(printed, "printed.loss");
  } catch (const losscc::CompileError& e) {
    std::fprintf(stderr, "printed text does not parse:\n%s\n%s", printed.c_str(), e.render().c_str());
    std::abort();
  }
  if (!back.body.same_as(fn.body) || back.hash() != fn.hash()) {
    std::fprintf(stderr, "round trip changed the loss:\n%s\nprinted again:\n%s", printed.c_str(),
                 losscc::to_loss_source(back).c_str());
    std::abort();
  }
  return 0;
}
