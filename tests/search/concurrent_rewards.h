// The check that a task's fits are functions of their inputs whatever runs
// beside them: two losses' rewards, one fit at a time and then both at once
// on two threads.
#pragma once

#include <thread>
#include <utility>
#include <vector>

#include "compiler/language/parse.h"
#include "search/task.h"

namespace losscc::search::testing {

// mse and bce: {rewards one at a time, rewards on two threads at once}.
inline std::pair<std::vector<double>, std::vector<double>> rewards_alone_and_together(const SearchTask& task) {
  const std::vector<LossFunction> losses = {parse_loss("(pred - label)^2", "mse.loss"),
                                            parse_loss("-label * log(pred) - (1 - label) * log(1 - pred)", "bce.loss")};
  std::vector<double> alone, together(losses.size());
  for (const LossFunction& fn : losses) alone.push_back(task.reward(fn, {}).reward);
  std::vector<std::thread> threads;
  for (size_t k = 0; k < losses.size(); ++k)
    threads.emplace_back([&, k] { together[k] = task.reward(losses[k], {}).reward; });
  for (std::thread& t : threads) t.join();
  return {alone, together};
}

}  // namespace losscc::search::testing
