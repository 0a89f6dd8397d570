#include "runtime/kernel.h"

namespace losscc::rt {

std::string_view backend_name(Backend b) {
  switch (b) {
    case Backend::Interp: return "interp";
    case Backend::Llvm: return "cpu";
    case Backend::Cuda: return "cuda";
  }
  return "?";
}

void Kernel::run_device(const DeviceArgs&) const {
  throw std::logic_error("run_device() called on a host kernel (" +
                         std::string(backend_name(backend())) + ")");
}

}  // namespace losscc::rt
