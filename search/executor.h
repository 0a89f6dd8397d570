// Who fits the candidates of a round. The search loop hands an executor
// self-contained work items (the candidate's .loss text, its id and phase)
// and gets plain results back, in the items' order, so an executor may fit
// them on threads here (ThreadExecutor) or send them anywhere else; the loop
// settles them in proposal order either way, so the search's outcome does
// not depend on which executor ran it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "search/task.h"

namespace losscc::search {

// A fit that ended without a reward, by kind: the loss diverged, or its
// source did not compile. Either rejects the candidate; anything else a fit
// throws is a bug and stops the search.
enum class FitFailure { None, NonFinite, Compile };

struct WorkResult {
  int64_t id = 0;
  FitFailure failure = FitFailure::None;
  std::string error;     // what went wrong, when failure is set
  TrainOutcome outcome;  // when it is not
};

// One work item on the calling thread: parse and simplify its source, then
// task.reward(); a non-finite loss or a compile error becomes the result's
// failure. A pure function of the item and the task's settings.
WorkResult evaluate_item(const SearchTask& task, const WorkItem& item);

class Executor {
 public:
  virtual ~Executor() = default;
  virtual std::string_view name() const = 0;
  // Every item's result, in the items' order.
  virtual std::vector<WorkResult> run(const SearchTask& task, const std::vector<WorkItem>& items) = 0;
};

// Fits on up to `workers` threads of this process (fewer when the task's
// max_workers() says so); an error that is not a FitFailure is rethrown
// after every thread has finished.
class ThreadExecutor : public Executor {
 public:
  explicit ThreadExecutor(int workers) : workers_(workers) {}
  std::string_view name() const override { return "threads"; }
  std::vector<WorkResult> run(const SearchTask& task, const std::vector<WorkItem>& items) override;

 private:
  int workers_;
};

}  // namespace losscc::search
