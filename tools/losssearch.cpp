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
//   losssearch --executor ray --ray-address auto ...   # candidates fitted on a Ray cluster
//
// The flags and the work are search/search_command.h's, shared with
// `python -m losscc.search`, which drives the Ray executor: `--executor ray`
// hands the whole run to it (same flags, same output folder).
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "search/search_command.h"
#include "tools/run_tool.h"

namespace {

// Replaces this process by `python -m losscc.search` with the same flags;
// returns only when that fails. The Python is LOSSCC_PYTHON, else the
// project's venv, else the one the project was built with.
int hand_to_python_driver(int argc, char** argv) {
#ifdef LOSSCC_PYTHON_PACKAGE_DIR
  std::string python = LOSSCC_SYSTEM_PYTHON;
  if (const char* env = std::getenv("LOSSCC_PYTHON"); env && *env)
    python = env;
  else if (::access(LOSSCC_VENV_PYTHON, X_OK) == 0)
    python = LOSSCC_VENV_PYTHON;
  std::string path = LOSSCC_PYTHON_PACKAGE_DIR;
  if (const char* old = std::getenv("PYTHONPATH"); old && *old) path += std::string(":") + old;
  ::setenv("PYTHONPATH", path.c_str(), 1);
  ::setenv("LOSSCC_SEARCH_PROGRAM", argv[0], 1);  // for the resume hints it prints
  std::vector<char*> args = {python.data(), const_cast<char*>("-m"), const_cast<char*>("losscc.search")};
  for (int i = 1; i < argc; ++i) args.push_back(argv[i]);
  args.push_back(nullptr);
  ::execv(python.c_str(), args.data());
  fmt::print(stderr, "losssearch: --executor ray runs `{} -m losscc.search`, which failed to start: {}\n", python,
             std::strerror(errno));
#else
  (void)argc, (void)argv;
  fmt::print(stderr, "losssearch: --executor ray needs the Python module, and this build has none "
                     "(configure with -DLOSSCC_BUILD_PYTHON=ON)\n");
#endif
  return losscc::models::kRunError;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace losscc::search;
  SearchOptions options;
  if (const int code = parse_search_command({argv, argv + argc}, options); code >= 0) return code;
  if (options.executor == "ray") return hand_to_python_driver(argc, argv);
  return losscc::models::run_reporting_errors("losssearch", [&] {
    SearchSession session(options);
    return session.run_to_budget() ? session.finish() : 130;
  });
}
