#include "models/rec/data/builtin.h"

#include "models/rec/data/load_dataset.h"
#include "models/rec/data/synthetic.h"

// The three gzipped files, assembled into read-only data (the folder is
// LOSSCC_BUILTIN_DATA_DIR, set by models/CMakeLists.txt, which also makes this
// file rebuild when they change).
#define LOSSCC_EMBED(symbol, file)                                                  \
  asm(".section .rodata\n"                                                         \
      ".balign 16\n"                                                               \
      ".hidden " #symbol "\n.globl " #symbol "\n" #symbol ":\n"                    \
      ".incbin \"" LOSSCC_BUILTIN_DATA_DIR "/" file "\"\n"                         \
      ".hidden " #symbol "_end\n.globl " #symbol "_end\n" #symbol "_end:\n"        \
      ".previous\n");                                                              \
  extern "C" const char symbol[], symbol##_end[];

LOSSCC_EMBED(losscc_builtin_train, "mlsmall01-1-5.train.csv.gz")
LOSSCC_EMBED(losscc_builtin_valid, "mlsmall01-1-5.validation.csv.gz")
LOSSCC_EMBED(losscc_builtin_test, "mlsmall01-1-5.test.csv.gz")

namespace losscc::models {

Dataset builtin_movielens() {
  const auto bytes = [](const char* begin, const char* end) {
    return std::string_view(begin, static_cast<size_t>(end - begin));
  };
  return parse_dataset("mlsmall01-1-5", {bytes(losscc_builtin_train, losscc_builtin_train_end),
                                         bytes(losscc_builtin_valid, losscc_builtin_valid_end),
                                         bytes(losscc_builtin_test, losscc_builtin_test_end)});
}

Dataset load_rec_data(const std::string& spec) {
  if (spec.empty() || spec == kBuiltinMovielens) return builtin_movielens();
  if (spec == kBuiltinSynthetic) return synthetic_dataset();
  return load_dataset(spec);
}

}  // namespace losscc::models
