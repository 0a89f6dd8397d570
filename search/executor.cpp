#include "search/executor.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>

#include "compiler/language/diagnostics.h"
#include "compiler/language/parse.h"
#include "compiler/passes/simplify.h"
#include "models/errors.h"

namespace losscc::search {

WorkResult evaluate_item(const SearchTask& task, const WorkItem& item) {
  WorkResult result;
  result.id = item.id;
  try {
    // The item's source is the simplified loss; simplifying its parse gives
    // back the same IR (tests/search), hence the same kernel.
    result.outcome = task.reward(simplify(parse_loss(item.source, "candidate.loss")), item);
  } catch (const models::NonFiniteLoss& error) {
    result.failure = FitFailure::NonFinite;
    result.error = std::string("non-finite loss during training: ") + error.what();
  } catch (const CompileError& error) {
    result.failure = FitFailure::Compile;
    result.error = std::string("compile error: ") + error.what();
  }
  return result;
}

std::vector<WorkResult> ThreadExecutor::run(const SearchTask& task, const std::vector<WorkItem>& items) {
  std::vector<WorkResult> results(items.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t k; (k = next.fetch_add(1)) < items.size();) results[k] = evaluate_item(task, items[k]);
  };
  size_t threads = std::min<size_t>(std::max(workers_, 1), items.size());
  if (task.max_workers() > 0) threads = std::min<size_t>(threads, static_cast<size_t>(task.max_workers()));
  if (threads <= 1) {
    work();
    return results;
  }
  std::vector<std::thread> pool;
  std::vector<std::exception_ptr> failures(threads);
  for (size_t t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      try {
        work();
      } catch (...) {
        failures[t] = std::current_exception();
      }
    });
  for (std::thread& t : pool) t.join();
  for (const std::exception_ptr& f : failures)
    if (f) std::rethrow_exception(f);
  return results;
}

}  // namespace losscc::search
