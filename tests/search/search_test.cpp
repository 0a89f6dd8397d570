#include "tests/doctest_torch.h"

#include <ATen/Functions.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "compiler/ir/print.h"
#include "compiler/language/parse.h"
#include "compiler/passes/simplify.h"
#include "models/rec/data/synthetic.h"
#include "models/rec/trainer.h"
#include "search/effectiveness.h"
#include "search/evaluator.h"
#include "search/rec_task.h"
#include "search/search.h"
#include "tests/search/concurrent_rewards.h"
#include "tests/search/space_tokens.h"

using namespace losscc;
using namespace losscc::search;
using losscc::search::testing::op;
namespace fs = std::filesystem;

namespace {


std::vector<nlohmann::json> read_jsonl(const fs::path& path) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("losscc-search-test-" + name);
  fs::remove_all(dir);
  return dir;
}

}  // namespace

TEST_CASE("invalid and duplicate candidates never reach training") {
  SearchSpace space(3);
  int trainings = 0;
  FunctionTask task("none", [&](const LossFunction&) {
    ++trainings;
    return TrainOutcome{0.75, 0, 0};
  });
  ThreadExecutor threads(1);
  Evaluator evaluator({});
  // (pred + -label)^2 and (-label + pred)^2: one canonical loss.
  const std::vector<Token> mse = {op(space, "neg", 1), op(space, "add", 0, 3), op(space, "square", 4)};
  const std::vector<Token> mse_commuted = {op(space, "neg", 1), op(space, "add", 3, 0), op(space, "square", 4)};
  // label^2: does not depend on the prediction.
  const std::vector<Token> no_pred = {op(space, "square", 1), op(space, "identity", 3), op(space, "neg", 4)};

  Evaluation first = evaluator.evaluate(space, mse, task, threads);
  CHECK(first.status == CandidateStatus::Trained);
  CHECK(*first.reward == 0.75);
  CHECK(trainings == 1);

  Evaluation again = evaluator.evaluate(space, mse_commuted, task, threads);
  CHECK(again.status == CandidateStatus::Duplicate);
  CHECK(*again.reward == 0.75);
  CHECK(again.hash == first.hash);
  CHECK(trainings == 1);

  Evaluation invalid = evaluator.evaluate(space, no_pred, task, threads);
  CHECK(invalid.status == CandidateStatus::Invalid);
  CHECK_FALSE(invalid.reward);
  CHECK(invalid.reason.find("depends-on-prediction") != std::string::npos);
  CHECK(trainings == 1);
}

TEST_CASE("with batch statistics required, a program that reads no batch mean is rejected without a fit") {
  const SearchSpace space = SearchSpace::multi_task(2, 2, false, true);
  int trainings = 0;
  FunctionTask task("none", [&](const LossFunction&) {
    ++trainings;
    return TrainOutcome{0.75, 0, 0};
  });
  ThreadExecutor threads(1);
  EvaluatorConfig config;
  config.require_batch_statistics = true;
  Evaluator evaluator(config);
  const int bce1 = SearchSpace::task_leaf(0, SearchSpace::kBce), bce2 = SearchSpace::task_leaf(1, SearchSpace::kBce);
  const int n = space.num_leaves();
  // bce1 + bce2, and bce1 · mean(bce1) + bce2.
  const std::vector<Token> equal = {op(space, "add", bce1, bce2), op(space, "identity", n)};
  const std::vector<Token> batch = {op(space, "mul", bce1, space.batch_mean_leaf(0)), op(space, "add", n, bce2)};

  const Evaluation plain = evaluator.evaluate(space, equal, task, threads);
  CHECK(plain.status == CandidateStatus::Invalid);
  CHECK(plain.reason.find("reads no batch statistic") != std::string::npos);
  CHECK(trainings == 0);
  const Evaluation weighted = evaluator.evaluate(space, batch, task, threads);
  CHECK(weighted.status == CandidateStatus::Trained);
  CHECK(trainings == 1);
  // Without the requirement the plain program is fitted.
  Evaluator open({});
  CHECK(open.evaluate(space, equal, task, threads).status == CandidateStatus::Trained);
  CHECK(trainings == 2);
}

TEST_CASE("a loss that diverges in training is rejected, not a crash") {
  SearchSpace space(3);
  FunctionTask task("none", [](const LossFunction&) -> TrainOutcome {
    throw models::NonFiniteLoss("batch loss is inf");
  });
  ThreadExecutor threads(1);
  Evaluator evaluator({});
  Evaluation e = evaluator.evaluate(space, {op(space, "neg", 1), op(space, "add", 0, 3), op(space, "square", 4)},
                                    task, threads);
  CHECK(e.status == CandidateStatus::Invalid);
  CHECK(e.reason.find("non-finite") != std::string::npos);
}

TEST_CASE("a work item's source parses and simplifies back to the candidate's IR") {
  // Executors send a candidate as its simplified .loss text: the fit must
  // see the same loss (same canonical hash, hence the same kernel).
  for (const bool ranking : {false, true}) {
    SearchSpace space(ranking ? 6 : 8, true, ranking);
    std::mt19937_64 rng(3);
    for (int i = 0; i < 2000; ++i) {
      const LossFunction fn = simplify(decode(space, sample_uniform(space, rng)));
      CAPTURE(to_loss_source(fn));
      CHECK(simplify(parse_loss(to_loss_source(fn), "candidate.loss")).hash() == fn.hash());
    }
  }
}

TEST_CASE("results are settled only for the round's items, in order") {
  SearchSpace space(4);
  Evaluator evaluator({});
  const std::vector<Token> mse = {op(space, "neg", 1), op(space, "add", 0, 3), op(space, "square", 4),
                                  op(space, "identity", 5)};
  const std::vector<Token> quartic = {op(space, "neg", 1), op(space, "add", 0, 3), op(space, "square", 4),
                                      op(space, "square", 5)};
  Evaluator::Pending round = evaluator.screen_batch(space, {mse, mse, quartic}, 10, 0);
  REQUIRE(round.items.size() == 2);  // the repeat waits for its first
  CHECK(round.items[0].id == 10);
  CHECK(round.items[1].id == 12);
  WorkResult a{10, FitFailure::None, "", {0.7, 0, 0}}, b{12, FitFailure::None, "", {0.6, 0, 0}};
  CHECK_THROWS_AS(evaluator.settle_batch(round, {b, a}), std::invalid_argument);
  CHECK_THROWS_AS(evaluator.settle_batch(round, {a}), std::invalid_argument);
  const std::vector<Evaluation> settled = evaluator.settle_batch(round, {a, b});
  CHECK(settled[0].status == CandidateStatus::Trained);
  CHECK(settled[1].status == CandidateStatus::Duplicate);
  CHECK(*settled[1].reward == 0.7);
  CHECK(*settled[2].reward == 0.6);
}

TEST_CASE("the reward cache is bounded and forgets the least recently used loss") {
  RewardCache cache(2, 1e-6);
  cache.put(1, {1.0}, 0.6);
  cache.put(2, {2.0}, 0.7);
  CHECK(cache.find(1, {}));  // 1 is now the most recent
  cache.put(3, {3.0}, 0.8);  // evicts 2
  CHECK(cache.size() == 2);
  CHECK_FALSE(cache.find(2, {}));
  // A different hash with the same fingerprint is the same loss.
  auto hit = cache.find(99, {3.0 * (1 + 1e-9)});
  REQUIRE(hit);
  CHECK(hit->hash == 3);
}

TEST_CASE("a short search with the shared-model reward runs end to end") {
  at::set_num_threads(1);
  const models::Dataset data = models::synthetic_dataset();
  const fs::path out = fresh_dir("e2e");
  SearchConfig config;
  RecTaskConfig rec;
  rec.reward = "shared";
  rec.candidate_steps = 5;
  rec.model_steps = 5;
  rec.train.epochs = 1;
  config.layers = 3;
  config.budget_candidates = 40;
  config.reinforce.num_aggregate = 5;
  config.controller_steps = 2;
  config.progress_seconds = 0;
  config.out_dir = out.string();
  int trainings = 0;
  RecTask task(data, rec);
  {
    LossSearch search(config, task);
    search.start(false);
    std::atomic<bool> never{false};
    CHECK(search.run(never) == LossSearch::Stop::Budget);
    const SearchCounters& c = search.counters();
    CHECK(c.candidates == 40);
    CHECK(c.trained + c.duplicates + c.invalid + c.filtered == 40);
    CHECK(c.model_phases == 4);  // 40 candidates / (5 × 2) per phase
    trainings = static_cast<int>(c.trained + c.filtered);
    CHECK(search.top().size() <= 5);
  }
  const auto lines = read_jsonl(out / "candidates.jsonl");
  REQUIRE(lines.size() == 40);
  for (size_t i = 0; i < lines.size(); ++i) {
    CHECK(lines[i].at("id") == i);
    CHECK(status_by_name(lines[i].at("status").get<std::string>()));
    CHECK(lines[i].at("hash").get<std::string>().size() == 16);
  }
  CHECK(fs::exists(out / "checkpoint" / "state.json"));
  CHECK(fs::exists(out / "best.loss") == (trainings > 0));
  // A second fresh search on the same folder is refused.
  LossSearch again(config, task);
  CHECK_THROWS_AS(again.start(false), std::runtime_error);
}

TEST_CASE("the from-scratch reward: fits on two workers give what one worker gives, in the same order") {
  at::set_num_threads(1);
  const models::Dataset data = models::synthetic_dataset();
  SearchConfig config;
  config.layers = 4;
  config.budget_candidates = 12;
  config.progress_seconds = 0;
  RecTaskConfig rec;
  rec.reward_epochs = 2;
  rec.reward_patience = 1;
  rec.train.optimizer = "adam";
  rec.train.lr = 0.01;
  RecTask task(data, rec);
  auto run = [&](int workers) {
    config.workers = workers;
    config.out_dir = fresh_dir("scratch-" + std::to_string(workers)).string();
    LossSearch search(config, task);
    search.start(false);
    std::atomic<bool> never{false};
    CHECK(search.run(never) == LossSearch::Stop::Budget);
    CHECK(search.counters().candidates == 12);
    CHECK(search.counters().model_phases == 0);
    return read_jsonl(fs::path(config.out_dir) / "candidates.jsonl");
  };
  const auto one = run(1), two = run(2);
  REQUIRE(one.size() == 12);
  REQUIRE(two.size() == 12);
  int trained = 0;
  for (size_t i = 0; i < one.size(); ++i) {
    CHECK(two[i].at("tokens") == one[i].at("tokens"));
    CHECK(two[i].at("status") == one[i].at("status"));
    CHECK(two[i].at("reward") == one[i].at("reward"));
    if (one[i].at("status") == "trained") {
      ++trained;
      const double reward = one[i].at("reward");
      CHECK(reward > 0.5);  // the synthetic data is learnable: a valid loss beats chance
      CHECK(reward <= 1.0);
    }
  }
  CHECK(trained > 0);  // masks make most candidates valid
}

TEST_CASE("the effectiveness test gives the same rows, in the same order, on any number of workers") {
  // A stand-in fitter: its figures are a function of the loss and the seed,
  // and it finishes out of order (later fits are quicker), so the rows can
  // only come out the same by being settled in the losses' order.
  const std::vector<NamedLoss> losses = {{"a", "search", "pred * label"},
                                         {"broken", "baseline", "log(pred"},
                                         {"fails", "baseline", "(pred - label) ^ 2"},
                                         {"b", "baseline", "abs(pred - label)"}};
  const uint64_t fails = parse_loss(losses[2].source, "fails.loss").hash();
  std::atomic<int> calls{0};
  const EffectFitter fit = [&](const LossFunction& fn, uint64_t seed) {
    ++calls;
    const double x = static_cast<double>(fn.hash() % 1000) / 1000 + 0.01 * static_cast<double>(seed);
    if (fn.hash() == fails && seed == 8) throw std::runtime_error("diverged");
    std::this_thread::sleep_for(std::chrono::milliseconds(seed == 7 ? 30 : 5));
    return EffectFit{{{"test", {{"auc", x}}}}, x - 0.5, x};
  };
  auto run = [&](int workers) {
    std::vector<std::string> order;
    const EffectProgress progress{"", [&](const nlohmann::json& row) { order.push_back(row.at("name")); }};
    const std::atomic<bool> never{false};
    calls = 0;
    const nlohmann::json rows = effectiveness_rows(losses, 7, 3, workers, fit, progress, never);
    CHECK(order == std::vector<std::string>{"a", "broken", "fails", "b"});  // reported in order, each once
    return rows;
  };
  const nlohmann::json one = run(1);
  CHECK(calls.load() == 8);  // a, fails (seeds 7, 8; its seed 9 is not run) and b; broken has no fits
  const nlohmann::json three = run(3);
  CHECK(three == one);
  REQUIRE(one.size() == 4);
  const double a = static_cast<double>(parse_loss(losses[0].source, "a.loss").hash() % 1000) / 1000;
  CHECK(one[0].at("test_auc_per_seed") == nlohmann::json{a + 0.07, a + 0.08, a + 0.09});
  CHECK(one[0].at("test_auc_mean") == doctest::Approx(a + 0.08));
  CHECK(one[1].contains("error"));   // does not parse
  CHECK(one[2].at("error") == "diverged");  // the first failing seed's error, no figures
  CHECK_FALSE(one[2].contains("test_auc_mean"));
  CHECK(one[3].at("test_auc_per_seed").size() == 3);
}

TEST_CASE("DeepModel fits on two threads at once give what they give one at a time") {
  // Its dropout draws from the model's own generator: concurrent fits used
  // to draw from LibTorch's global one and change each other's masks.
  at::set_num_threads(1);
  const models::Dataset data = models::synthetic_dataset();
  RecTaskConfig config;
  config.model = "deepmodel";
  config.reward_epochs = config.reward_patience = 1;
  config.train.optimizer = "adam";
  const RecTask task(data, config);
  const auto rewards = testing::rewards_alone_and_together(task);
  CHECK(rewards.second == rewards.first);
}

TEST_CASE("an RL search is a function of its config, whatever drew from LibTorch's generator before") {
  at::set_num_threads(1);
  const models::Dataset data = models::synthetic_dataset();
  SearchConfig config;
  config.layers = 3;
  config.budget_candidates = 30;
  config.reinforce.num_aggregate = 5;
  config.controller_steps = 2;
  config.progress_seconds = 0;
  // A made-up reward per loss keeps it fast; the policy still updates on it.
  FunctionTask fake(data.name, [](const LossFunction& fn) {
    return TrainOutcome{0.5 + static_cast<double>(fn.hash() % 1000) / 4000.0, 0, 0};
  });
  auto tokens_of = [&](const std::string& name) {
    config.out_dir = fresh_dir(name).string();
    LossSearch search(config, fake);
    search.start(false);
    std::atomic<bool> never{false};
    search.run(never);
    std::vector<std::string> tokens;
    for (const nlohmann::json& line : read_jsonl(fs::path(config.out_dir) / "candidates.jsonl"))
      tokens.push_back(line.at("tokens").dump());
    return tokens;
  };
  const std::vector<std::string> first = tokens_of("seeded-a");
  (void)at::randn({1000});  // anything else using the generator in between
  const std::vector<std::string> second = tokens_of("seeded-b");
  REQUIRE(first.size() == 30);
  CHECK(first == second);
}

#ifdef LOSSSEARCH_PATH
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

namespace {

// Starts losssearch with `args`, its stderr into `log`; returns its pid.
pid_t spawn(const std::vector<std::string>& args, const std::string& log = "/dev/null") {
  std::fflush(nullptr);  // or the child's freopen flushes our buffered output again
  const pid_t pid = fork();
  if (pid == 0) {
    signal(SIGINT, SIG_DFL);  // not the test framework's crash handler
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(LOSSSEARCH_PATH));
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    freopen("/dev/null", "w", stdout);
    freopen(log.c_str(), "w", stderr);
    execv(LOSSSEARCH_PATH, argv.data());
    _exit(127);
  }
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

size_t count_lines(const fs::path& p) {
  std::ifstream in(p);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

// Waits until `p` has at least `n` lines or the child exits (5 minutes at
// most: a sanitizer build is slow).
void wait_for_lines(const fs::path& p, size_t n, pid_t child) {
  for (int i = 0; i < 30000 && count_lines(p) < n; ++i) {
    if (waitpid(child, nullptr, WNOHANG) == child) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

TEST_CASE("a search killed at any moment resumes without losing or repeating a candidate") {
  const fs::path killed = fresh_dir("killed"), straight = fresh_dir("straight");
  auto args = [](const fs::path& out, int budget) {
    return std::vector<std::string>{"--budget-candidates", std::to_string(budget), "--layers", "3",
                                    "--searcher", "random", "--reward-epochs", "1", "--workers", "2",
                                    "--num-aggregate", "5", "--controller-steps", "2",
                                    "--effect-epochs", "1", "--effect-seeds", "1", "--threads", "1",
                                    "--top-k", "1", "--out", out.string()};
  };
  const int budget = 60;
  CHECK(wait_exit(spawn(args(straight, budget))) == 0);

  // SIGKILL mid-way, SIGINT later, then run to the end.
  pid_t child = spawn(args(killed, budget));
  wait_for_lines(killed / "candidates.jsonl", 15, child);
  kill(child, SIGKILL);
  wait_exit(child);
  std::vector<std::string> resume = args(killed, budget);
  resume.push_back("--resume");
  child = spawn(resume);
  wait_for_lines(killed / "candidates.jsonl", 35, child);
  kill(child, SIGINT);
  const int interrupted = wait_exit(child);
  CHECK((interrupted == 130 || interrupted == 0));  // 0: it had already finished
  CHECK(wait_exit(spawn(resume)) == 0);

  const auto a = read_jsonl(straight / "candidates.jsonl");
  const auto b = read_jsonl(killed / "candidates.jsonl");
  REQUIRE(a.size() == budget);
  REQUIRE(b.size() == budget);
  for (int i = 0; i < budget; ++i) {
    CHECK(b[i].at("id") == i);
    // The same RNG stream: the interrupted search proposed the same candidates.
    CHECK(b[i].at("tokens") == a[i].at("tokens"));
    CHECK(b[i].at("status") == a[i].at("status"));
  }
  std::ifstream state(killed / "checkpoint" / "state.json");
  CHECK(nlohmann::json::parse(state).at("counters").at("candidates") == budget);
  for (const char* file : {"summary.json", "best.loss", "found-1.loss"}) {
    CAPTURE(file);
    CHECK(fs::exists(killed / file) == fs::exists(straight / file));
  }
  std::ifstream summary(straight / "summary.json");
  const nlohmann::json s = nlohmann::json::parse(summary);
  CHECK(s.at("search").at("candidates") == budget);
  CHECK(s.at("effectiveness").size() >= 7);  // the seven baselines at least
}

TEST_CASE("a search that segfaults resumes to the result of an uninterrupted run, and says what it repeats") {
  const fs::path crashed = fresh_dir("segv"), straight = fresh_dir("segv-straight");
  const int budget = 40;
  auto args = [&](const fs::path& out) {  // the RL searcher: its policy and optimiser are checkpointed too
    return std::vector<std::string>{"--budget-candidates", std::to_string(budget), "--layers", "3",
                                    "--reward-epochs", "1", "--workers", "2", "--num-aggregate", "5",
                                    "--controller-steps", "2", "--no-baselines", "--effect-epochs", "1",
                                    "--effect-seeds", "1", "--threads", "1", "--top-k", "2", "--seed", "7",
                                    "--out", out.string()};
  };
  REQUIRE(wait_exit(spawn(args(straight))) == 0);

  const pid_t child = spawn(args(crashed));
  wait_for_lines(crashed / "candidates.jsonl", 15, child);
  kill(child, SIGSEGV);
  REQUIRE(wait_exit(child) == 128 + SIGSEGV);
  // A crash while a round was being written leaves lines the checkpoint does
  // not cover, the last one cut short: they are judged again on resume.
  { std::ofstream(crashed / "candidates.jsonl", std::ios::app) << "{\"id\": 999, \"tokens\""; }
  std::ifstream state_in(crashed / "checkpoint" / "state.json");
  const auto covered = nlohmann::json::parse(state_in).at("jsonl_bytes").get<std::streamoff>();
  std::ifstream tail_in(crashed / "candidates.jsonl");
  tail_in.seekg(covered);
  const std::string tail((std::istreambuf_iterator<char>(tail_in)), std::istreambuf_iterator<char>());
  const auto repeated = std::count(tail.begin(), tail.end(), '\n') + (tail.back() != '\n');

  std::vector<std::string> resume = args(crashed);
  resume.push_back("--resume");
  const fs::path log = crashed.string() + ".log";
  CHECK(wait_exit(spawn(resume, log.string())) == 0);
  std::ifstream log_in(log);
  const std::string printed((std::istreambuf_iterator<char>(log_in)), std::istreambuf_iterator<char>());
  CHECK(printed.find(fmt::format("; {} candidates judged after it are judged again", repeated)) != std::string::npos);
  // The effectiveness test says which fit runs (2 found losses × 1 seed).
  CHECK(printed.find("[losssearch] effectiveness: fit 1/2, found-1 seed 1/1 | ETA -") != std::string::npos);
  CHECK(printed.find("[losssearch] effectiveness: fit 2/2, found-2 seed 1/1 | ETA ") != std::string::npos);

  const auto a = read_jsonl(straight / "candidates.jsonl");
  const auto b = read_jsonl(crashed / "candidates.jsonl");
  REQUIRE(a.size() == budget);
  REQUIRE(b.size() == budget);
  for (int i = 0; i < budget; ++i) {
    CAPTURE(i);
    CHECK(b[i].at("id") == i);
    CHECK(b[i].at("tokens") == a[i].at("tokens"));
    CHECK(b[i].at("status") == a[i].at("status"));
    CHECK(b[i].at("reward") == a[i].at("reward"));
  }
  std::ifstream summary_in(crashed / "summary.json");
  CHECK(nlohmann::json::parse(summary_in).at("search").at("repeated") == repeated);
  for (const char* file : {"best.loss", "found-1.loss", "found-2.loss"}) {
    CAPTURE(file);
    std::ifstream x(straight / file), y(crashed / file);
    CHECK(std::string(std::istreambuf_iterator<char>(x), {}) == std::string(std::istreambuf_iterator<char>(y), {}));
  }
}
#endif
