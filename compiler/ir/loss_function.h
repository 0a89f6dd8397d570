// A whole loss: its declared inputs, the per-element expression and the
// reduction. This is what the parser produces, what the search decodes token
// sequences into, and what every pass and backend consumes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/ir/expr.h"

namespace losscc {

// The set of values an input takes. The validity check samples from it, and
// `losscc --run` draws random inputs from it.
enum class Domain : uint8_t {
  Probability,  // `prob`: a predicted probability in (0, 1)
  Binary,       // `binary`: a label in {0, 1}
  Unit,         // `unit`: a real number in [0, 1] (soft label, weight)
  Real,         // `real`: any real number (a raw score or regression target)
  Grade,        // `grade`: a graded relevance label, an integer 0, 1, 2, ...
                // (the checks and `losscc --run` draw 0..4)
};
std::string_view domain_name(Domain d);
std::optional<Domain> domain_by_name(std::string_view name);

// What an input means to the validity check (see check.h): the loss must fall
// as a Prediction rises where the label is 1 and rise where it is 0; it must
// fall as a Positive score rises and rise as a Negative score rises.
enum class Role : uint8_t { Prediction, Label, Positive, Negative, Other };
std::string_view role_name(Role r);
std::optional<Role> role_by_name(std::string_view name);
// The role an input gets when its declaration names none: `pred`→Prediction,
// `label`→Label, `pos`→Positive, `neg`→Negative, anything else→Other.
Role default_role(std::string_view input_name);

enum class Reduction : uint8_t { Mean, Sum };
std::string_view reduction_name(Reduction r);

struct InputDecl {
  std::string name;
  Domain domain = Domain::Real;
  Role role = Role::Other;
  friend bool operator==(const InputDecl& a, const InputDecl& b) {
    return a.name == b.name && a.domain == b.domain && a.role == b.role;
  }
  friend bool operator!=(const InputDecl& a, const InputDecl& b) { return !(a == b); }
};

struct LossFunction {
  std::vector<InputDecl> inputs;  // declaration order = argument order of kernels
  Expr body;                      // the per-element loss
  Reduction reduction = Reduction::Mean;

  // The inputs of a file with no `input` declarations: pred ∈ (0,1), label ∈ {0,1}.
  static std::vector<InputDecl> default_inputs();
  const InputDecl* find_input(std::string_view name) const;
  int input_index(std::string_view name) const;  // -1 if absent
  size_t count(Role r) const;                     // inputs with role r
  // A multi-task loss's tasks: K >= 2 prediction inputs and K label inputs,
  // task k's being the k-th of each in declaration order; 0 for any other loss.
  size_t tasks() const;
  // A ranking loss: the body is a per-query value built with segmented ops
  // (expr.h), run over queries given by segment offsets (program.h).
  bool grouped() const { return body && body->segmented(); }
  // Stable hash of the body, the input declarations (in order) and the reduction.
  uint64_t hash() const;
};

}  // namespace losscc
