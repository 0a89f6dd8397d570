// The recommendation data a tool reads when it is given no folder: MovieLens
// latest-small split as AutoLossGen splits MovieLens-100K (data/README.md),
// compiled into the library so that a fresh build searches real data with
// nothing to download; and the synthetic set (synthetic.h) tests use.
#pragma once

#include <string>

#include "models/rec/data/dataset.h"

namespace losscc::models {

// The names `--data` takes for them.
inline constexpr const char* kBuiltinMovielens = "builtin:movielens";
inline constexpr const char* kBuiltinSynthetic = "builtin:synthetic";

// The built-in MovieLens split (610 users, 9,724 items; ~98k train rows).
Dataset builtin_movielens();

// `spec` is a folder (load_dataset), one of the names above, or empty for
// the built-in MovieLens. Throws DatasetError as load_dataset does.
Dataset load_rec_data(const std::string& spec);

}  // namespace losscc::models
