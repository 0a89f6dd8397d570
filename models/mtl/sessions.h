// Session data with click and purchase labels: RMTL's format, and a built-in
// generator of the same shape so the tools run with no files.
//
// The format (a folder):
//
//   sessions.csv   header naming timestamp,sessionid,itemid,pay,click (any
//                  order, extra columns ignored); one row per item a session
//                  met; timestamp, sessionid, itemid integers; pay, click 0/1
//   items.csv      optional; header itemid,<feature>,...; one row per item;
//                  each feature a categorical value (any text, empty = "0")
//
// Tasks are `click` and `pay` (in that order). Categorical fields: the item
// id, then every column of items.csv. Values are numbered over the training
// split (item ids) or the item table (features); 0 means unknown. There are
// no numerical features. Rows of a session are ordered by timestamp (file
// order among equal ones); sessions by their first timestamp (then id), and
// the first 60% of sessions are train, the next 20% validation, the rest test
// (RMTL's 6:2:2 split by time).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/mtl/data.h"

namespace losscc::models::mtl {

struct SessionLoadOptions {
  // false: any bad line is an error (MtlDataError listing up to 10 of them,
  // file:line:column each, and the count); true: bad lines are skipped and
  // listed in `bad_lines`.
  bool skip_bad_lines = false;
};

struct SessionLoad {
  MtlDataset data;
  std::vector<std::string> bad_lines;  // "sessions.csv:17:12: pay: expected 0 or 1, got '2'"
};

SessionLoad load_sessions(const std::string& dir, const SessionLoadOptions& options = {});

// Synthetic sessions. Every session has a latent taste u and every item a
// latent vector v, a bias b and a price; with a = <u, v> (variance 1):
//
//   P(click)         = sigmoid(click_signal · a + b + b_category − 1 − 0.1 · position)
//   P(pay | click)   = sigmoid(pay_signal · a + b − price_effect · price_z − 1.5)
//   pay = 0 without a click.
//
// The shared a and b make click and purchase correlated. Fields: item,
// category, the session's taste segment (the largest coordinate of u and its
// sign), position in the session (capped at 10); numerical: price
// (standardised), position / 10. Everything is drawn from one seeded
// generator; the split is 60/20/20 by session, in order.
struct SyntheticSessionConfig {
  int64_t sessions = 3000;
  int64_t items = 300;
  int64_t categories = 12;
  int dim = 4;
  int64_t min_length = 2, max_length = 12;
  double click_signal = 1.5, pay_signal = 1.5, price_effect = 0.8;
  uint64_t seed = 1;
};

MtlDataset synthetic_sessions(const SyntheticSessionConfig& config = {});

}  // namespace losscc::models::mtl
