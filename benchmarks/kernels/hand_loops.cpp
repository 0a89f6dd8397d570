// Hand-written fused forward+backward loops (see hand_loops.h). Each is the
// loop a performance-minded person writes for one example loss: restrict
// pointers, one pass, the derivative simplified by hand, `omp simd` with a sum
// reduction so clang vectorises it, float throughout. Built by clang++ -O3
// -march=native -ffast-math -fopenmp-simd -fveclib=libmvec (see CMakeLists).
//
// Each must compute exactly what its examples/<loss>.loss means; losscc-bench
// checks every result against the JIT's and drops a loop that disagrees.

#include "benchmarks/kernels/hand_loops.h"

#include <math.h>

namespace {

// examples/bce.loss: -(label·log(pred) + (1-label)·log(1-pred)), mean.
// ∂/∂pred = (pred - label) / (pred·(1-pred)).
float bce(const float* const* in, float* const* grads, int64_t begin, int64_t end, float scale) {
  const float* __restrict pred = in[0];
  const float* __restrict label = in[1];
  float* __restrict g = grads[0];
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = begin; i < end; ++i) {
    const float p = pred[i], y = label[i];
    sum += -(y * logf(p) + (1.0f - y) * logf(1.0f - p));
    g[i] = scale * (p - y) / (p * (1.0f - p));
  }
  return sum;
}

// examples/logmin.loss: log(1/(m+ε) + ε) · (m + label + pred), m = min(label, pred).
// With u = m + ε and dm = ∂m/∂pred (1 where pred is the minimum, ties to pred):
// ∂/∂pred = dm · (−s / (u·(1 + ε·u))) + log(1/u + ε) · (dm + 1), s = m + label + pred.
float logmin(const float* const* in, float* const* grads, int64_t begin, int64_t end, float scale) {
  constexpr float eps = 1e-6f;
  const float* __restrict pred = in[0];
  const float* __restrict label = in[1];
  float* __restrict g = grads[0];
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = begin; i < end; ++i) {
    const float p = pred[i], y = label[i];
    const float m = fminf(y, p), u = m + eps, s = m + y + p;
    const float dm = p <= y ? 1.0f : 0.0f;
    const float l = logf(1.0f / u + eps);
    sum += l * s;
    g[i] = scale * (dm * (-s / (u * (1.0f + eps * u))) + l * (dm + 1.0f));
  }
  return sum;
}

// examples/maxr.loss: max(a, 1/a) with a = (label+ε)/(pred+ε).
// ∂/∂pred = −a/(pred+ε) where a wins, 1/(label+ε) otherwise (ties to the second).
float maxr(const float* const* in, float* const* grads, int64_t begin, int64_t end, float scale) {
  constexpr float eps = 1e-6f;
  const float* __restrict pred = in[0];
  const float* __restrict label = in[1];
  float* __restrict g = grads[0];
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = begin; i < end; ++i) {
    const float pe = pred[i] + eps, ye = label[i] + eps;
    const float a = ye / pe, b = pe / ye;
    sum += fmaxf(a, b);
    g[i] = scale * (a > b ? -a / pe : 1.0f / ye);
  }
  return sum;
}

// examples/sumr.loss: (label + pred + ε) / (ε + pred·label).
// ∂/∂pred = ((ε + pred·label) − (label + pred + ε)·label) / (ε + pred·label)².
float sumr(const float* const* in, float* const* grads, int64_t begin, int64_t end, float scale) {
  constexpr float eps = 1e-6f;
  const float* __restrict pred = in[0];
  const float* __restrict label = in[1];
  float* __restrict g = grads[0];
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = begin; i < end; ++i) {
    const float p = pred[i], y = label[i];
    const float num = y + p + eps, den = eps + p * y, r = 1.0f / den;
    sum += num * r;
    g[i] = scale * (den - num * y) * r * r;
  }
  return sum;
}

// examples/mse.loss: (pred − label)²; ∂/∂pred = 2·(pred − label).
float mse(const float* const* in, float* const* grads, int64_t begin, int64_t end, float scale) {
  const float* __restrict pred = in[0];
  const float* __restrict label = in[1];
  float* __restrict g = grads[0];
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = begin; i < end; ++i) {
    const float d = pred[i] - label[i];
    sum += d * d;
    g[i] = scale * 2.0f * d;
  }
  return sum;
}

// examples/bpr.loss: softplus(neg − pos), summed over inputs pos, neg (both differentiated).
// ∂/∂neg = σ(neg − pos) = −∂/∂pos; softplus(d) = max(d, 0) + log(1 + exp(−|d|)):
// log rather than log1p because libmvec (and so the vectoriser) has no log1pf;
// 1 + e loses nothing that matters for e = exp(−|d|) ∈ (0, 1].
float bpr(const float* const* in, float* const* grads, int64_t begin, int64_t end, float scale) {
  const float* __restrict pos = in[0];
  const float* __restrict neg = in[1];
  float* __restrict gpos = grads[0];
  float* __restrict gneg = grads[1];
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = begin; i < end; ++i) {
    const float d = neg[i] - pos[i];
    const float e = expf(-fabsf(d));
    sum += fmaxf(d, 0.0f) + logf(1.0f + e);
    const float sig = d >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
    gneg[i] = scale * sig;
    gpos[i] = -scale * sig;
  }
  return sum;
}

}  // namespace

extern "C" const losscc_hand_loop losscc_hand_loops[] = {
    {"bce", "pred,label", "pred", bce},
    {"logmin", "pred,label", "pred", logmin},
    {"maxr", "pred,label", "pred", maxr},
    {"sumr", "pred,label", "pred", sumr},
    {"mse", "pred,label", "pred", mse},
    {"bpr", "pos,neg", "pos,neg", bpr},
    {nullptr, nullptr, nullptr, nullptr},
};
