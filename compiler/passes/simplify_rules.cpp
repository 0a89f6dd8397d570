// The rewrite table: one line per rule, read by simplify.cpp.
#include "compiler/passes/simplify.h"

namespace losscc {

const std::vector<RewriteRule>& rewrite_rules() {
  static const std::vector<RewriteRule> rules = [] {
    Expr x = input("?x"), y = input("?y"), c = input("?c"), d = input("?d"), q = input("?q"), w = input("?w");
    using S = Safety;
    return std::vector<RewriteRule>{
        // Identities.
        {"add-zero",        x + 0.0,                       x,                 S::SignOfZero},
        {"sub-zero",        x - 0.0,                       x,                 S::Exact},
        {"zero-sub",        0.0 - x,                       -x,                S::SignOfZero},
        {"mul-one",         x * 1.0,                       x,                 S::Exact},
        {"mul-neg-one",     x * -1.0,                      -x,                S::Exact},
        {"div-one",         x / 1.0,                       x,                 S::Exact},
        {"div-neg-one",     x / -1.0,                      -x,                S::Exact},
        {"pow-one",         pow(x, 1.0),                   x,                 S::Exact},
        {"pow-zero",        pow(x, 0.0),                   constant(1.0),     S::Exact},  // pow(NaN,0) = 1
        {"mul-recip",       x * (1.0 / y),                 x / y,             S::MoreAccurate},  // one rounding, no 1/y overflow
        // Gradients of 1/x produce (1/x)/x next to 1/x: a multiply instead of
        // a second division (divisions dominate the fused loop's cost).
        {"recip-div-self",  (1.0 / x) / x,                 pow(1.0 / x, 2.0), S::Rounding},
        {"add-self",        x + x,                         x * 2.0,           S::Exact},
        {"mul-self",        x * x,                         pow(x, 2.0),       S::Rounding},
        {"max-self",        max(x, x),                     x,                 S::Exact},
        {"min-self",        min(x, x),                     x,                 S::Exact},
        // Negation moves outward and cancels; a constant absorbs it.
        {"neg-neg",         -(-x),                         x,                 S::Exact},
        {"sub-neg",         x - (-y),                      x + y,             S::Exact},
        {"add-neg",         x + (-y),                      x - y,             S::Exact},
        {"neg-sub",         -(x - y),                      y - x,             S::SignOfZero},
        {"mul-neg",         (-x) * y,                      -(x * y),          S::Exact},
        {"div-neg-num",     (-x) / y,                      -(x / y),          S::Exact},
        {"div-neg-den",     x / (-y),                      -(x / y),          S::Exact},
        {"neg-mul-const",   -(x * c),                      x * (-c),          S::Exact},
        {"neg-div-const",   -(x / c),                      x / (-c),          S::Exact},
        {"neg-const-div",   -(c / x),                      (-c) / x,          S::Exact},
        {"negzero-sub",     -0.0 - x,                      -x,                S::Exact},  // −0 − x is −x, zeros included
        // Constants gather into one.
        {"add-add-const",   (x + c) + d,                   x + (c + d),       S::Rounding},
        {"mul-mul-const",   (x * c) * d,                   x * (c * d),       S::Rounding},
        // Absolute value, sign and the even power.
        {"abs-neg",         abs(-x),                       abs(x),            S::Exact},
        {"abs-abs",         abs(abs(x)),                   abs(x),            S::Exact},
        {"abs-square",      abs(pow(x, 2.0)),              pow(x, 2.0),       S::Exact},
        {"square-neg",      pow(-x, 2.0),                  pow(x, 2.0),       S::Exact},
        {"square-abs",      pow(abs(x), 2.0),              pow(x, 2.0),       S::Exact},
        {"sqrt-square",     sqrt(pow(x, 2.0)),             abs(x),            S::MoreAccurate},
        {"sign-sign",       sign(sign(x)),                 sign(x),           S::Exact},
        {"relu-relu",       relu(relu(x)),                 relu(x),           S::Exact},
        // Stable forms (Herbie's habits): no cancellation, no overflow.
        {"log-exp",         log(exp(x)),                   x,                 S::MoreAccurate},
        {"softplus",        log(1.0 + exp(x)),             softplus(x),       S::MoreAccurate},
        {"softplus-log1p",  log1p(exp(x)),                 softplus(x),       S::MoreAccurate},
        {"log1p",           log(1.0 + x),                  log1p(x),          S::MoreAccurate},
        {"log1m",           log(1.0 - x),                  log1p(-x),         S::MoreAccurate},
        {"expm1",           exp(x) - 1.0,                  expm1(x),          S::MoreAccurate},
        {"sigmoid",         1.0 / (1.0 + exp(-x)),         sigmoid(x),        S::MoreAccurate},
        {"sigmoid-neg",     1.0 / (1.0 + exp(x)),          sigmoid(-x),       S::MoreAccurate},
        {"one-sub-sigmoid", 1.0 - sigmoid(x),              sigmoid(-x),       S::MoreAccurate},
        {"log-sigmoid",     log(sigmoid(x)),               -softplus(-x),     S::MoreAccurate},
        {"log1m-sigmoid",   log1p(-sigmoid(x)),            -softplus(x),      S::MoreAccurate},
        // The slope σ(x)·σ(−x) (every sigmoid's derivative, and smooth
        // ranks' in ApproxNDCG's gradient): one exp, not two.
        {"sigmoid-slope",   sigmoid(x) * sigmoid(-x),      exp(-abs(x)) / pow(1.0 + exp(-abs(x)), 2.0),         S::Rounding},
        {"sigmoid-slope-sub", sigmoid(x - y) * sigmoid(y - x),
                                                           exp(-abs(x - y)) / pow(1.0 + exp(-abs(x - y)), 2.0), S::Rounding},
        // Per-query ops: a per-query value is the same at every document and
        // in every pair, so it leaves sums and needs no other(...). Not for
        // pairsum: its sum may be empty, and 0·inf is NaN.
        {"other-query",     other(q),                      q,                 S::Exact},
        {"qmax-query",      qmax(q),                       q,                 S::Exact},
        {"qsum-query",      qsum(q),                       q * qcount(),      S::Rounding},
        {"qsum-neg",        qsum(-x),                      -qsum(x),          S::Exact},
        {"qsum-mul-query",  qsum(x * q),                   qsum(x) * q,       S::FiniteFactor},
        {"qsum-div-query",  qsum(x / q),                   qsum(x) / q,       S::FiniteFactor},
        // Work on other(x) alone is per-document work: done once per document
        // and read at j, not once per pair (ListMLE's exp(other(s) − m)).
        {"other-exp",       exp(other(x)),                 other(exp(x)),     S::Exact},
        {"other-neg",       -other(x),                     other(-x),         S::Exact},
        {"other-sub-query", other(x) - q,                  other(x - q),      S::Exact},
        {"query-sub-other", q - other(x),                  other(q - x),      S::Exact},
        {"other-add-query", other(x) + q,                  other(x + q),      S::Exact},
        {"other-mul-query", other(x) * q,                  other(x * q),      S::Exact},
        {"other-div-query", other(x) / q,                  other(x / q),      S::Exact},
        {"other-add-other", other(x) + other(y),           other(x + y),      S::Exact},
        {"other-sub-other", other(x) - other(y),           other(x - y),      S::Exact},
        {"other-mul-other", other(x) * other(y),           other(x * y),      S::Exact},
        // softmax(x) = exp(x - qlse(x)) as exp(x - m) / Σ exp(x - m), m = qmax(x):
        // the exps are qlse's own, so a document costs a division, not an exp.
        // The sum is at least 1 (the maximum's term), never 0 or inf.
        {"softmax-shared",  exp(x - (log(qsum(exp(x - qmax(x)))) + qmax(x))),
                                                           exp(x - qmax(x)) / qsum(exp(x - qmax(x))),          S::Rounding},
        // Pair sums over the same pairs share one O(n²) loop (a gradient
        // sums the i and the j side of every pair term).
        {"pairsum-add",     pairsum(w, x) + pairsum(w, y), pairsum(w, x + y), S::Rounding},
        {"pairsum-sub",     pairsum(w, x) - pairsum(w, y), pairsum(w, x - y), S::Rounding},
    };
  }();
  return rules;
}

}  // namespace losscc
