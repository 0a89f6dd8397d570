// Learning-to-rank data: documents grouped by query, each with a feature
// vector and a graded relevance label. The unit every ranker trains on and
// every ranking metric (ltr_metrics.h) is computed over.
//
// Files are in the LETOR / SVMlight format, one document per line:
//
//   <label> qid:<id> <index>:<value> <index>:<value> ... [# comment]
//
// Labels are non-negative integers; feature indices are 1-based and
// increasing within a line; absent features are 0 (sparse or dense lines
// alike). A query's lines need not be contiguous: documents are grouped by
// qid, queries kept in the order they first appear, documents in file order.
// Blank lines and lines that hold only a comment are skipped; anything else
// that does not parse is an error naming file:line:col and what was
// expected. Nothing is dropped: queries without a relevant document are kept
// (and counted, see LtrSplit::queries_without_relevant()).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/errors.h"

namespace losscc::models::ltr {

// A missing, unreadable or malformed file. what() names the file and, for a
// bad line, its line and column: "S1.txt:17:3: expected 'qid:<id>', got 'q:10'".
struct LtrDataError : DataError {
  using DataError::DataError;
};

// One split: queries × documents. Query q owns documents
// [offsets[q], offsets[q+1]); row i's features are features[i*dims .. +dims).
struct LtrSplit {
  int64_t dims = 0;
  std::vector<float> features;  // row-major [documents × dims]
  std::vector<float> labels;    // [documents], integers ≥ 0
  std::vector<int64_t> offsets{0};
  std::vector<std::string> qids;  // [queries]
  // Row i is the source_row[i]-th document of its file(s) (0-based, in file
  // order; concatenated parts count on): grouping may reorder rows, and
  // scores written in file order map back through this.
  std::vector<int64_t> source_row;

  int64_t documents() const { return static_cast<int64_t>(labels.size()); }
  int64_t queries() const { return static_cast<int64_t>(qids.size()); }
  int64_t query_size(int64_t q) const { return offsets[q + 1] - offsets[q]; }
  // Queries whose labels are all 0 (no relevant document; ideal DCG 0).
  int64_t queries_without_relevant() const;
  // Widens every row to `dims` features (≥ the current dims) with zeros.
  void widen(int64_t dims);
};

struct LtrDataset {
  std::string name;
  int64_t dims = 0;
  LtrSplit train, valid, test;
};

struct LetorOptions {
  // Min-max normalise every feature within each query (LETOR's
  // "QueryLevelNorm"): (x - min_q) / (max_q - min_q), 0 where the feature
  // is constant over the query.
  bool query_norm = false;
};

// Reads one LETOR file. Throws LtrDataError.
LtrSplit load_letor_file(const std::string& path, const LetorOptions& options = {});

// The files of fold `fold` (1..5) of a LETOR folder: either the Fold<K>/
// layout (train.txt, vali.txt, test.txt) or S1.txt .. S5.txt with the
// standard rotation (fold K trains on S_K, S_K+1, S_K+2, validates on S_K+3,
// tests on S_K+4, indices mod 5). Train files are concatenated. All splits
// get the largest feature index seen in any of them as dims.
struct FoldFiles {
  std::vector<std::string> train, valid, test;
};
FoldFiles fold_files(const std::string& dir, int fold);
LtrDataset load_letor_fold(const std::string& dir, int fold, const LetorOptions& options = {});

// Queries of several files as one split (qids are not merged across parts).
LtrSplit concatenate(const std::vector<LtrSplit>& parts);

// The queries `keep` (indices, in that order) of a split as a split of their
// own; rows keep their source_row.
LtrSplit select_queries(const LtrSplit& split, const std::vector<int64_t>& keep);

// A split's queries in two, for a validation the model selection has not
// read: a random `fraction` of the queries (whole queries; seed `seed`) held
// out, the rest kept, each in file order. Throws std::invalid_argument unless
// 0 < fraction < 1 and both parts get a query.
struct HeldOutQueries {
  LtrSplit kept, held;
};
HeldOutQueries hold_out_queries(const LtrSplit& split, double fraction, uint64_t seed);

// A tiny built-in ranking set, so the tools run with no files: queries of
// 3..max_docs documents with `dims` N(0, 1) features; labels 0..2 by
// thresholds on a hidden score (a linear term plus an interaction), with
// noise. Deterministic in `seed`; train/valid/test have the given numbers of
// queries; a few queries have no relevant document.
struct SyntheticLtrConfig {
  int64_t train_queries = 120, valid_queries = 40, test_queries = 40;
  int64_t dims = 10;
  int64_t max_docs = 20;
  uint64_t seed = 1;
};
LtrDataset synthetic_ltr(const SyntheticLtrConfig& config = {});

// "train 471 queries (12 without a relevant document), 9,630 documents, ..."
std::string describe(const LtrDataset& data);

}  // namespace losscc::models::ltr
