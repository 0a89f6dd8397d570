#include "compiler/ir/loss_function.h"

#include "compiler/ir/stable_hash.h"

#include <algorithm>
#include <array>
#include <utility>

namespace losscc {

namespace {

constexpr std::array<std::pair<Domain, std::string_view>, 5> kDomains = {{
    {Domain::Probability, "prob"},
    {Domain::Binary, "binary"},
    {Domain::Unit, "unit"},
    {Domain::Real, "real"},
    {Domain::Grade, "grade"},
}};

constexpr std::array<std::pair<Role, std::string_view>, 5> kRoles = {{
    {Role::Prediction, "pred"},
    {Role::Label, "label"},
    {Role::Positive, "pos"},
    {Role::Negative, "neg"},
    {Role::Other, "other"},
}};

template <class Enum, size_t N>
std::string_view name_in(const std::array<std::pair<Enum, std::string_view>, N>& table, Enum e) {
  for (const auto& [value, name] : table)
    if (value == e) return name;
  return "?";
}

template <class Enum, size_t N>
std::optional<Enum> find_in(const std::array<std::pair<Enum, std::string_view>, N>& table,
                            std::string_view name) {
  for (const auto& [value, spelled] : table)
    if (spelled == name) return value;
  return std::nullopt;
}

}  // namespace

std::string_view domain_name(Domain d) { return name_in(kDomains, d); }
std::optional<Domain> domain_by_name(std::string_view name) { return find_in(kDomains, name); }
std::string_view role_name(Role r) { return name_in(kRoles, r); }
std::optional<Role> role_by_name(std::string_view name) { return find_in(kRoles, name); }

Role default_role(std::string_view input_name) {
  std::optional<Role> r = find_in(kRoles, input_name);
  return r ? *r : Role::Other;
}

std::string_view reduction_name(Reduction r) { return r == Reduction::Mean ? "mean" : "sum"; }

size_t LossFunction::count(Role r) const {
  return static_cast<size_t>(std::count_if(inputs.begin(), inputs.end(), [r](const InputDecl& in) { return in.role == r; }));
}

size_t LossFunction::tasks() const {
  const size_t preds = count(Role::Prediction);
  return preds >= 2 && count(Role::Label) == preds ? preds : 0;
}

std::vector<InputDecl> LossFunction::default_inputs() {
  return {{"pred", Domain::Probability, Role::Prediction}, {"label", Domain::Binary, Role::Label}};
}

const InputDecl* LossFunction::find_input(std::string_view name) const {
  for (const InputDecl& in : inputs)
    if (in.name == name) return &in;
  return nullptr;
}

int LossFunction::input_index(std::string_view name) const {
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].name == name) return static_cast<int>(i);
  return -1;
}

uint64_t LossFunction::hash() const {
  StableHasher hasher(0x6c6f73736675ULL);
  hasher.add(body ? body->hash() : 0);
  for (const InputDecl& in : inputs)
    hasher.add(in.name).add(static_cast<uint64_t>(in.domain)).add(static_cast<uint64_t>(in.role));
  return hasher.add(static_cast<uint64_t>(reduction)).digest();
}

}  // namespace losscc
