// losssearch: searches for a loss function (AutoLossGen's RL controller or
// random search) for a recommender, a ranker or one task of a multi-task
// model, then compares the best losses found with the classic ones.
//
//   losssearch --data ../shared/data/ml100k01-1-5 --budget-minutes 30 --out search-ml100k
//   losssearch --budget-candidates 200                 # the built-in MovieLens data, quick
//   losssearch --data DIR --transfer-data DIR2         # and the found losses' test on DIR2 too
//   losssearch --compare a.loss b.loss --effect-seeds 6  # no search: these losses against the classics
//   losssearch --out search-ml100k --data ... --resume  # after Ctrl-C or a kill
//   losssearch --task rank --data ../shared/data/MQ2008 --fold 1 --out search-ltr
//   losssearch --task mtl --target income --data ../shared/data/census-income
//
// The flags and the work are search/search_command.h's, shared with
// `python -m losscc.search`.
#include "search/search_command.h"
#include "tools/run_tool.h"

int main(int argc, char** argv) {
  using namespace losscc::search;
  SearchOptions options;
  if (const int code = parse_search_command({argv, argv + argc}, options); code >= 0) return code;
  return losscc::models::run_reporting_errors("losssearch", [&] {
    SearchSession session(options);
    return session.run_to_budget() ? session.finish() : 130;
  });
}
