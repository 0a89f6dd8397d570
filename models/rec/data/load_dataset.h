// Reads a dataset in the AutoLossGen/NCR format from a folder:
//
//   DIR/NAME.train.csv, DIR/NAME.validation.csv, DIR/NAME.test.csv
//
// each of them plain or gzipped (NAME.train.csv.gz, ...).
//
// NAME is the folder's name, or else the stem of the one `*.train.csv` in it.
// Each file is tab-separated with the header `uid iid label` (columns in any
// order, extra columns ignored); ids are any integers and are remapped to
// dense ids 0..n-1 in increasing order of the original id, one map shared by
// the three splits. Labels are 0 or 1.
#pragma once

#include <array>
#include <stdexcept>
#include <string>
#include <string_view>

#include "models/rec/data/dataset.h"
#include "models/errors.h"

namespace losscc::models {

// A file that is missing, unreadable or malformed. what() names the file, and
// for a bad row its line, column and field: "x.train.csv:17: column 2 (iid):
// expected an integer, got 'abc'".
struct DatasetError : DataError {
  using DataError::DataError;
};

Dataset load_dataset(const std::string& dir);

// The same from the contents of the three files (train, validation, test;
// plain or gzipped) of a dataset called `name`; errors name NAME.train.csv etc.
Dataset parse_dataset(const std::string& name, const std::array<std::string_view, 3>& files);

}  // namespace losscc::models
