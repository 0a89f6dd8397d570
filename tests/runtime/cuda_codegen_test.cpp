// CUDA C emission and NVRTC: every generated kernel compiles, to PTX and to a
// cubin, with no GPU. (Running the kernels is cuda_run_test.cpp.)
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "compiler/codegen/cuda/cuda_ops.h"
#include "compiler/codegen/cuda/emit_cuda.h"
#include "tests/runtime/cuda_programs.h"

#if __has_include("compiler/passes/build_program.h") && __has_include("compiler/language/parse.h")
#include "compiler/language/parse.h"
#include "compiler/passes/build_program.h"
#define LOSSCC_TEST_EXAMPLES 1
#endif

#ifdef LOSSCC_HAVE_NVRTC
#include "compiler/codegen/nvrtc/nvrtc_compile.h"
#endif

using namespace losscc;
using namespace losscc::cuda;
using namespace losscc::cuda_testing;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

#ifdef LOSSCC_HAVE_NVRTC
// Compiles `source` to PTX and to a cubin, and checks each kernel is an entry.
void check_compiles(const std::string& source, const std::vector<std::string>& kernels) {
  NvrtcResult ptx, cubin;
  REQUIRE_NOTHROW(ptx = nvrtc_compile(source, {"compute_90"}));
  CHECK_FALSE(ptx.is_cubin);
  REQUIRE_NOTHROW(cubin = nvrtc_compile(source, {"sm_90"}));
  CHECK(cubin.is_cubin);
  CHECK(cubin.image.compare(0, 4, "\x7f" "ELF") == 0);
  for (const std::string& k : kernels) CHECK_MESSAGE(contains(ptx.image, ".entry " + k), k);
  CHECK(contains(ptx.image, std::string(".entry ") + kFinishKernel));
  // The emitted code should compile cleanly; a warning usually means a bug.
  CHECK_MESSAGE(ptx.log.empty(), ptx.log);
}
#endif

// How often `what` occurs in `text`.
int count_of(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("float_literal: exact, and always a float expression") {
  CHECK(float_literal(0.5) == "0.5f");
  CHECK(float_literal(1.0) == "1.0f");
  CHECK(float_literal(-3.0) == "-3.0f");
  CHECK(float_literal(-0.0) == "-0.0f");
  CHECK(float_literal(1e-6) == "9.99999997e-07f");  // the float nearest 1e-6, to 9 digits
  CHECK(float_literal(1e300) == "__int_as_float(0x7f800000)");  // rounds to float +inf
  CHECK(float_literal(-std::numeric_limits<double>::infinity()) == "(-__int_as_float(0x7f800000))");
  CHECK(float_literal(std::numeric_limits<double>::quiet_NaN()) == "__int_as_float(0x7fffffff)");
}

TEST_CASE("emit_cuda: the kernel's shape") {
  const Program p = hand_built_programs()[0].second;  // bce
  const std::string src = emit_cuda(p);
  const std::string name = kernel_name(p);
  CHECK(name.size() == std::string("losscc_").size() + 16);
  CHECK_FALSE(contains(src, "#include"));
  CHECK(contains(src, "extern \"C\" __global__ void __launch_bounds__(losscc_block_size)\n" + name + "("));
  CHECK(contains(src, "const float* __restrict__ in0, const float* __restrict__ in1, \n"
                      "    float* __restrict__ g0, \n    long long n, float grad_scale"));
  CHECK(contains(src, "losscc_load4(in0, q, aligned)"));   // the vector path
  CHECK(contains(src, "g0[i] = grad_scale * d0;"));        // the scalar tail
  CHECK(contains(src, "__shfl_down_sync"));
  CHECK(contains(src, "atomicAdd(loss, loss_scale * block_sum)"));
  CHECK(contains(src, "logf(v"));
  CHECK_FALSE(contains(src, "__logf"));  // no fast intrinsics unless asked (NVRTC --use_fast_math)
}

TEST_CASE("emit_cuda: integer powers are multiplies, other powers powf") {
  const Program p = make_program(reals({"x"}), pow(input("x"), 3.0) + pow(input("x"), -2.0) + pow(input("x"), 0.5), {});
  const std::string src = emit_cuda(p);
  CHECK(contains(src, "= v0 * v0 * v0;"));
  CHECK(contains(src, "= 1.0f / (v0 * v0);"));
  CHECK(contains(src, "= powf(v0, 0.5f);"));
  CHECK_FALSE(contains(src, "3.0f"));  // exponents get no variables of their own
}

TEST_CASE("emit_cuda: no identifier from the .loss source reaches the CUDA C") {
  const std::string evil = "x*/ } __global__ void evil(";
  const std::string evil2 = "pred\n#include </etc/passwd>";
  const Expr a = input(evil), b = input(evil2);
  const Program p = make_program(reals({evil, evil2}), log1p(a * a) + b, {evil, evil2});
  const std::string src = emit_cuda(p);
  CHECK_FALSE(contains(src, "evil"));
  CHECK_FALSE(contains(src, "passwd"));
  CHECK_FALSE(contains(src, "#include"));
#ifdef LOSSCC_HAVE_NVRTC
  check_compiles(src, {kernel_name(p)});
#endif
}

TEST_CASE("emit_cuda_batch: one translation unit, distinct kernels, duplicates once") {
  std::vector<Program> programs;
  std::vector<std::string> names;
  for (auto& [label, p] : hand_built_programs()) {
    programs.push_back(p);
    names.push_back(kernel_name(p));
  }
  programs.push_back(programs[0]);  // a duplicate
  std::vector<std::string> unique = names;
  std::sort(unique.begin(), unique.end());
  CHECK(std::unique(unique.begin(), unique.end()) == unique.end());

  const std::string src = emit_cuda_batch(programs);
  for (const std::string& n : names) CHECK(contains(src, "\n" + n + "("));
  const auto first = src.find("\n" + names[0] + "(");
  CHECK(src.find("\n" + names[0] + "(", first + 1) == std::string::npos);
#ifdef LOSSCC_HAVE_NVRTC
  check_compiles(src, names);
#endif
}

#ifdef LOSSCC_HAVE_NVRTC

TEST_CASE("nvrtc: every hand-built program compiles to PTX and to a cubin") {
  for (auto& [label, p] : hand_built_programs()) {
    CAPTURE(label);
    check_compiles(emit_cuda(p), {kernel_name(p)});
  }
}

TEST_CASE("nvrtc: 100 random programs over every op compile") {
  RandomProgramGen gen(20240611);
  std::vector<Program> programs;
  std::vector<std::string> names;
  for (int i = 0; i < 100; ++i) {
    programs.push_back(gen(5));
    names.push_back(kernel_name(programs.back()));
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  // Four batches of 25: one NVRTC call each, both targets.
  for (size_t b = 0; b < programs.size(); b += 25) {
    std::vector<Program> batch(programs.begin() + b, programs.begin() + b + 25);
    std::vector<std::string> batch_names;
    for (const Program& p : batch) batch_names.push_back(kernel_name(p));
    check_compiles(emit_cuda_batch(batch), batch_names);
  }
}

#ifdef LOSSCC_TEST_EXAMPLES
TEST_CASE("nvrtc: every examples/*.loss compiles") {
  const std::filesystem::path dir = std::filesystem::path(LOSSCC_SOURCE_DIR) / "examples";
  int count = 0;
  if (std::filesystem::exists(dir)) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
      if (entry.path().extension() != ".loss") continue;
      CAPTURE(entry.path().string());
      const LossFunction fn = parse_loss_file(entry.path().string());
      std::vector<int> all;
      for (size_t k = 0; k < fn.inputs.size(); ++k) all.push_back(static_cast<int>(k));
      const Program p = build_program(fn, all);
      check_compiles(emit_cuda(p), {kernel_name(p)});
      ++count;
    }
  }
  MESSAGE(count << " example .loss files compiled");
}
#endif

TEST_CASE("nvrtc: every ranking example compiles, in one batch, and supports 1,000-document lists") {
  std::vector<Program> programs;
  std::vector<std::string> names;
  for (const char* name : {"rank_mse", "ranknet", "rank_hinge", "lambdarank", "listnet", "listmle", "approx_ndcg",
                           "lambdaloss"}) {
    programs.push_back(build_program(parse_loss_file(std::string(LOSSCC_SOURCE_DIR "/examples/") + name + ".loss")));
    REQUIRE(programs.back().grouped());
    names.push_back(kernel_name(programs.back()));
    CHECK_MESSAGE(max_list_size(programs.back()) >= 1000, name);
    const std::string src = emit_cuda(programs.back());
    CHECK(contains(src, "extern __shared__ float losscc_shared[]"));
    CHECK(contains(src, "const long long* __restrict__ offsets"));
  }
  check_compiles(emit_cuda_batch(programs), names);
  // A pairwise loss keeps the scores, read at every other document, in shared memory.
  CHECK(contains(emit_cuda(programs[1]), "losscc_shared[0 * n + j]"));
  // ListMLE's two scans share one sort of the labels.
  const std::string listmle = emit_cuda(programs[5]);
  CHECK(count_of(listmle, "losscc_scan_before(") == 2);  // the helper and one sort
  CHECK(count_of(listmle, "losscc_block_exclusive_sum(") == 3);
}

TEST_CASE("nvrtc: scans with computed, per-query and shared keys, and a scan as the gradient, compile") {
  std::vector<Program> programs;
  std::vector<std::string> names;
  for (const char* body : {"qsum(prefix_sum(2 * score - label, score * label) * label)",
                           "qsum(sigmoid(suffix_sum(label, prefix_sum(score, score * label))) * label)",
                           "qsum(suffix_sum(label, qmax(score)) * score + prefix_sum(qcount(), score) * label)",
                           "qsum(suffix_sum(label, score))"}) {
    programs.push_back(build_program(
        parse_loss(std::string("input score: real as pred\ninput label: grade\n") + body + "\n", "scan.loss")));
    names.push_back(kernel_name(programs.back()));
    CHECK_MESSAGE(max_list_size(programs.back()) >= 1000, body);
  }
  check_compiles(emit_cuda_batch(programs), names);
}

TEST_CASE("nvrtc: a bad source or target is an error with NVRTC's log") {
  try {
    nvrtc_compile("extern \"C\" __global__ void k() { undefined_thing(); }", {"compute_90"});
    FAIL("expected NvrtcError");
  } catch (const NvrtcError& e) {
    CHECK(contains(e.log(), "undefined_thing"));
    CHECK(contains(e.what(), "compilation failed"));
  }
  CHECK_THROWS_AS(nvrtc_flags({"sm_90; rm -rf"}), std::invalid_argument);
  CHECK_THROWS_AS(nvrtc_flags({"90"}), std::invalid_argument);
  CHECK_NOTHROW(nvrtc_flags({"sm_90a"}));
}

#endif  // LOSSCC_HAVE_NVRTC
