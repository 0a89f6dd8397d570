// cuda_probe COMMAND [ARGS...]: runs COMMAND where a CUDA GPU is usable, and
// otherwise exits 77, which ctest reports as "Skipped" (SKIP_RETURN_CODE), so
// a machine without a GPU shows the GPU tests as not run rather than passed.
#include <unistd.h>

#include <cstdio>

#include "runtime/cuda/driver.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: cuda_probe COMMAND [ARGS...]\n");
    return 2;
  }
  if (!losscc::rt::cuda_available()) return 77;  // cuda_available() has said why
  execvp(argv[1], argv + 1);
  std::perror("cuda_probe: exec");
  return 2;
}
