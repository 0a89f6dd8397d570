// Where the passes that judge a loss without training it evaluate it: the
// validity check (check.h) and the gradient fingerprint (fingerprint.h).
// Fixed grids and sweeps over each input domain, the ranking checks' probe
// queries, and evaluators that run a loss with the gradients of every input
// at one point (Probe) or over one query (GroupProbe), through the
// interpreter. Everything here is the same on every run.
#pragma once

#include <random>
#include <string>
#include <vector>

#include "compiler/interp/interp.h"
#include "compiler/interp/segmented.h"
#include "compiler/ir/loss_function.h"
#include "compiler/ir/program.h"

namespace losscc::probes {

// The finiteness grid of one domain: its ends and a spread of inner values.
std::vector<double> domain_grid(Domain d);
// N evenly spread values inside a domain (never its ends), for the
// monotonicity sweeps.
std::vector<double> sweep(Domain d, int n);
// A value inside the domain, where an input a check does not vary is held.
double middle(Domain d);
// Six fixed values of a domain, the fingerprint's probe points.
std::vector<double> fixed_values(Domain d);
// A random value of a domain (a real input's scores are N(0, 1)).
double draw(Domain d, std::mt19937_64& rng);

// Every input index of `fn`: the gradients a probe computes.
std::vector<int> all_inputs(const LossFunction& fn);

// One query: values[j][i] is input j at document i.
using ProbeList = std::vector<std::vector<double>>;
// The ranking checks' probe queries: `count` lists of 1 to 40 documents
// drawn from a fixed seed, with no relevant document, all labels equal,
// tied scores and scores far apart among them.
std::vector<ProbeList> probe_lists(const LossFunction& fn, int count);

// `fn` with the gradients of the inputs `wrt`, evaluated at one point at a time.
struct Probe {
  std::vector<InputDecl> inputs;
  Program program;
  Evaluator eval;
  std::vector<double> out;
  Probe(const LossFunction& fn, std::vector<int> wrt);
  // out[0] = loss, out[1 + k] = ∂loss/∂(the k-th input of wrt).
  const std::vector<double>& at(const std::vector<double>& x);
};

// A ranking `fn` with the gradients of the inputs `wrt`, run one query at a time.
struct GroupProbe {
  Program program;
  GroupEvaluator eval;
  std::vector<std::vector<double>> out;
  GroupProbe(const LossFunction& fn, std::vector<int> wrt);
  // out[0][·] = the query's loss, out[1 + k][i] = ∂loss/∂(input k at document i).
  const std::vector<std::vector<double>>& at(const ProbeList& list);
};

}  // namespace losscc::probes
