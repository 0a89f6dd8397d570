#include "compiler/language/parse.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "compiler/language/lower.h"
#include "compiler/language/parser.h"
#include "compiler/language/source.h"

namespace losscc {

LossFunction parse_loss(std::string_view source, std::string_view filename, const ParamOverrides& overrides) {
  SourceFile file(source, filename);
  LossBuilder builder(file, overrides);
  return Parser(file, builder).parse_file();
}

std::string read_loss_file(const std::string& path) {
  auto fail = [&](int error) {
    return CompileError({path, 0, 0}, fmt::format("cannot read file: {}", std::strerror(error)));
  };
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) throw fail(errno);
  std::string text;
  char buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, file.get())) > 0) text.append(buffer, n);
  if (std::ferror(file.get())) throw fail(errno);  // e.g. EISDIR for a folder
  return text;
}

LossFunction parse_loss_file(const std::string& path, const ParamOverrides& overrides) {
  return parse_loss(read_loss_file(path), path, overrides);
}

}  // namespace losscc
