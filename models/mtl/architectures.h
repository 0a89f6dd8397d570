// The constructors behind make_mtl_model(), one file each (see mtl_model.h).
#pragma once

#include <memory>

#include "models/mtl/mtl_model.h"

namespace losscc::models::mtl {

std::shared_ptr<MtlModel> make_single_task(const ModelShape& shape);
std::shared_ptr<MtlModel> make_shared_bottom(const ModelShape& shape);
std::shared_ptr<MtlModel> make_esmm(const ModelShape& shape);
std::shared_ptr<MtlModel> make_mmoe(const ModelShape& shape);
std::shared_ptr<MtlModel> make_omoe(const ModelShape& shape);
std::shared_ptr<MtlModel> make_ple(const ModelShape& shape);
std::shared_ptr<MtlModel> make_aitm(const ModelShape& shape);

}  // namespace losscc::models::mtl
