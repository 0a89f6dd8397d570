// get_kernel(): the memory cache hands back the same kernel, options and
// backends make different ones, unavailable backends say so.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>

#include "oracle.h"
#include "runtime/cache/disk_cache.h"
#include "runtime/kernel.h"

namespace losscc {
namespace {

// A program no other test compiles (the constant makes it unique per call).
Program fresh_program(double c) {
  LossFunction fn;
  fn.inputs = LossFunction::default_inputs();
  fn.body = square(input("pred") - input("label")) * constant(c);
  return test::program_for(fn, {0});
}

TEST_CASE("engine: the same program twice is the same kernel") {
  const Program p = fresh_program(1.5);
  for (rt::Backend b : {rt::Backend::Interp, rt::Backend::Llvm}) {
    if (!rt::backend_available(b)) continue;
    const auto first = rt::get_kernel(p, {b, true});
    const auto start = std::chrono::steady_clock::now();
    const auto second = rt::get_kernel(p, {b, true});
    const double hit_us =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
    CHECK(first.get() == second.get());
    CHECK(first->backend() == b);
    MESSAGE(rt::backend_name(b), ": memory hit in ", hit_us, " us");
    // A structurally equal program built again hits too: nodes are interned.
    CHECK(rt::get_kernel(fresh_program(1.5), {b, true}).get() == first.get());
  }
}

TEST_CASE("engine: different options, backends or programs are different kernels") {
  const Program p = fresh_program(2.5);
  const auto interp = rt::get_kernel(p, {rt::Backend::Interp, true});
  CHECK(rt::get_kernel(p, {rt::Backend::Interp, false}).get() != interp.get());
  CHECK(rt::get_kernel(fresh_program(3.5), {rt::Backend::Interp, true}).get() != interp.get());
  if (rt::backend_available(rt::Backend::Llvm)) {
    const auto llvm = rt::get_kernel(p, {rt::Backend::Llvm, true});
    CHECK(llvm.get() != interp.get());
    CHECK(llvm->backend() == rt::Backend::Llvm);
  }
}

TEST_CASE("engine: an LLVM compile leaves its object in the disk cache") {
  if (!rt::backend_available(rt::Backend::Llvm)) return;
  namespace fs = std::filesystem;
  const fs::path dir = rt::DiskCache::default_instance().dir();
  auto entries = [&] {
    std::error_code ec;
    if (!fs::exists(dir, ec)) return 0;
    int count = 0;
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); ++it) ++count;
    return count;
  };
  // A constant no earlier run used, so this is a miss in both tiers.
  const double c = 1.0 + static_cast<double>(
                             std::chrono::steady_clock::now().time_since_epoch().count() % 1000003);
  const int before = entries();
  rt::get_kernel(fresh_program(c), {rt::Backend::Llvm, true});
  CHECK(entries() == before + 1);
}

TEST_CASE("engine: an unavailable backend throws BackendUnavailable") {
  CHECK(rt::backend_available(rt::Backend::Interp));
  if (!rt::backend_available(rt::Backend::Cuda))
    CHECK_THROWS_AS(rt::get_kernel(fresh_program(4.5), {rt::Backend::Cuda, true}),
                    rt::BackendUnavailable);
}

}  // namespace
}  // namespace losscc
