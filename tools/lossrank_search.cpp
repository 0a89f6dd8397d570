// lossrank-search was folded into losssearch; this name stays so that old
// scripts fail with a pointer to the new command instead of "not found".
#include <cstdio>

int main() {
  std::fputs("lossrank-search: replaced by `losssearch --task rank` (same flags, except --synthetic: omit --data; "
             "--epochs/--patience: --effect-epochs/--effect-patience)\n", stderr);
  return 2;
}
