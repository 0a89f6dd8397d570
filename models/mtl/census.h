// UCI census-income (KDD) as a two-task dataset, the setting of the MMoE
// paper (KDD 2018, section 6.3): task `income` is income > 50K (the last
// column, `50000+.`), task `never_married` is marital status (column 8)
// `Never married`.
//
// The file is the dataset's comma-separated form (42 columns, no header;
// gzip-compressed or plain). The rows are split into train / validation /
// test 60/20/20 by a seeded hash of the row's text (xxHash64 mod 10: 0-5
// train, 6-7 validation, 8-9 test), so the split is a function of the file
// and the seed, whatever the row order. The 7 numerical columns (age, wage
// per hour, capital gains, capital losses, dividends, persons worked for the
// employer, weeks worked) are standardised on the train split; the instance
// weight (column 25) is dropped, as the dataset's notes say it must not be a
// feature; the 32 other columns are categorical, each value numbered in
// sorted order of the train split's values (unseen values map to 0).
#pragma once

#include <cstdint>
#include <string>

#include "models/mtl/data.h"

namespace losscc::models::mtl {

struct CensusOptions {
  uint64_t split_seed = 0;  // the hash seed of the train/validation/test split
  int64_t max_rows = 0;     // read only the first rows of the file (0: all)
};

// `path` is the file, or a folder holding census-income.test.gz (or
// census-income.test, census-income.data.gz, census-income.data).
// A malformed row throws MtlDataError naming file:line:column.
MtlDataset load_census(const std::string& path, const CensusOptions& options = {});

}  // namespace losscc::models::mtl
