#include "models/mtl/data.h"

#include <fmt/format.h>

namespace losscc::models::mtl {

MtlRows MtlRows::select(const at::Tensor& index) const {
  MtlRows out{categorical.index_select(0, index), numerical.index_select(0, index),
              labels.index_select(0, index), {}, {}};
  if (session.defined()) out.session = session.index_select(0, index);
  return out;
}

at::Tensor next_in_session(const at::Tensor& session_in) {
  const at::Tensor session = session_in.contiguous();
  const int64_t n = session.size(0);
  at::Tensor next = at::full({n}, -1, at::kLong);
  const int64_t* s = session.data_ptr<int64_t>();
  int64_t* out = next.data_ptr<int64_t>();
  for (int64_t i = 0; i + 1 < n; ++i)
    if (s[i + 1] == s[i]) out[i] = i + 1;
  return next;
}

void standardise_on_train(MtlDataset& data) {
  if (data.train.numerical.size(1) == 0 || data.train.size() == 0) return;
  const at::Tensor wide = data.train.numerical.to(at::kDouble);
  const at::Tensor mean = wide.mean(0);
  at::Tensor std = wide.std(0, /*unbiased=*/false);
  std = at::where(std > 1e-12, std, at::ones_like(std));
  for (MtlRows* rows : {&data.train, &data.valid, &data.test})
    if (rows->size() > 0)
      rows->numerical = ((rows->numerical.to(at::kDouble) - mean) / std).to(at::kFloat);
}

std::string describe(const MtlDataset& data) {
  std::string text;
  const std::pair<const char*, const MtlRows*> splits[] = {
      {"train", &data.train}, {"validation", &data.valid}, {"test", &data.test}};
  for (const auto& [name, rows] : splits) {
    text += fmt::format("  {:<10} {:>7} rows", name, rows->size());
    if (rows->has_sessions() && rows->size() > 0)
      text += fmt::format(", {} sessions", rows->session.max().item<int64_t>() + 1);
    for (int64_t k = 0; k < data.num_tasks(); ++k)
      text += fmt::format("; {} {:.1f}% positive", data.tasks[k],
                          rows->size() ? 100 * rows->labels.select(1, k).mean().item<double>() : 0.0);
    text += "\n";
  }
  return text;
}

}  // namespace losscc::models::mtl
