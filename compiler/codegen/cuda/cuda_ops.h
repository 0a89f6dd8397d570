// How each IR op is spelled in CUDA C (float precision). The emitter asks
// this file for the right-hand side of one node's definition; the spelling of
// every op lives in one table in cuda_ops.cpp.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "compiler/ir/expr.h"

namespace losscc::cuda {

// A CUDA C float expression that evaluates `node` (any op but Input) given
// the names of the variables holding its arguments. Const nodes ignore
// `args`; Pow uses only args[0] (its exponent is read from the IR).
std::string op_expression(const Node& node, const std::vector<std::string>& args);

// `v` rounded to float, as a CUDA C expression of type float that denotes
// exactly that value: "0.5f", "-3.0f", "1.00000001e-07f", and for the
// non-finite values "__int_as_float(0x7f800000)" and friends.
std::string float_literal(double v);

// Device helpers that the table's spellings call (sign, step, relu, stable
// sigmoid and softplus). Emitted once per translation unit.
std::string_view op_helpers();

}  // namespace losscc::cuda
