// Fused optimizer updates: each reads its variable's slice of the all-reduced gradient sum,
// forms the mean gradient and updates the variable (and the optimizer's slots) in place, in
// one pass. Every value is what the unfused path computes on the `native` backend, bit for bit:
// VariableSet.meanGradients in JavaScript (a division in float64 rounded to float32, an
// optional clip scale multiplied in float64), then TF.js's update formula as one float32
// kernel per operation, in TF.js's order. So no operation here may be fused or reordered: the
// build compiles this file with -ffp-contract=off (no FMA), and nothing is built with
// -ffast-math. Element-wise work may split over threads (each element's arithmetic is the
// same); the norm's sum may not (its order is JavaScript's, one element after another).
#include <omp.h>
#include <algorithm>
#include <cmath>
#include "kernels.h"

namespace syncline {

namespace {

constexpr int64_t kParallelElements = 1 << 15;

// The mean gradient of element i, as VariableSet.meanGradients stores it in its Float32Array.
struct MeanGradient {
  const float* sum;
  double samples;
  float samples_f;
  bool float_division;  // samples is a float32 value: the float32 quotient is the rounded float64 one
  double scale;         // the clip scale, or < 0 for none

  MeanGradient(const float* s, double n, double clip_scale)
      : sum(s), samples(n), samples_f(static_cast<float>(n)), float_division(static_cast<double>(samples_f) == n),
        scale(clip_scale) {}

  // The quotient of two float32 values rounded once from float64 equals the float32 quotient
  // (float64 carries more than twice float32's precision), so the cheap division is exact too.
  inline float at(int64_t i) const {
    float g = float_division ? sum[i] / samples_f : static_cast<float>(static_cast<double>(sum[i]) / samples);
    if (scale >= 0) g = static_cast<float>(static_cast<double>(g) * scale);
    return g;
  }
};

// Runs body(lo, hi) over [0, size), split over the kernel threads when that pays.
template <typename Body>
void split(int64_t size, Body body) {
  const int t = (threads() == 1 || size < kParallelElements) ? 1 : threads();
  if (t == 1) return body(0, size);
  const int64_t chunk = (size + t - 1) / t;
#pragma omp parallel for num_threads(t) schedule(static)
  for (int p = 0; p < t; p++) {
    const int64_t lo = p * chunk, hi = std::min(size, lo + chunk);
    if (lo < hi) body(lo, hi);
  }
}

}  // namespace

double mean_gradient_square_sum(const float* sum, int64_t size, double samples) {
  const MeanGradient g(sum, samples, -1);
  double sq = 0;
  for (int64_t i = 0; i < size; i++) {
    const double m = g.at(i);
    sq += m * m;
  }
  return sq;
}

void sgd_update(const float* sum, double samples, double scale, float neg_rate, float* w, int64_t size) {
  const MeanGradient g(sum, samples, scale);
  split(size, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; i++) {
      // TF.js: add(mul(c, gradient), value), c = -learningRate.
      const float step = neg_rate * g.at(i);
      w[i] = step + w[i];
    }
  });
}

void momentum_update(const float* sum, double samples, double scale, float neg_rate, float momentum, bool nesterov,
                     float* w, float* accumulation, int64_t size) {
  const MeanGradient g(sum, samples, scale);
  split(size, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; i++) {
      const float grad = g.at(i);
      // TF.js: newAccumulation = add(mul(m, accumulation), gradient).
      const float decayed = momentum * accumulation[i];
      const float acc = decayed + grad;
      float step;
      if (nesterov) {
        // add(mul(c, add(gradient, mul(newAccumulation, m))), value)
        const float ahead = acc * momentum;
        const float direction = grad + ahead;
        step = neg_rate * direction;
      } else {
        // add(mul(c, newAccumulation), value)
        step = neg_rate * acc;
      }
      accumulation[i] = acc;
      w[i] = step + w[i];
    }
  });
}

void adam_update(const float* sum, double samples, double scale, const AdamScalars& s, float* w, float* first,
                 float* second, int64_t size) {
  const MeanGradient g(sum, samples, scale);
  split(size, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; i++) {
      const float grad = g.at(i);
      // newFirstMoment = add(mul(firstMoment, beta1), mul(gradient, 1 - beta1))
      const float m_decayed = first[i] * s.beta1;
      const float m_new_part = grad * s.one_minus_beta1;
      const float m = m_decayed + m_new_part;
      // newSecondMoment = add(mul(secondMoment, beta2), mul(square(gradient), 1 - beta2))
      const float v_decayed = second[i] * s.beta2;
      const float grad_sq = grad * grad;
      const float v_new_part = grad_sq * s.one_minus_beta2;
      const float v = v_decayed + v_new_part;
      // div(newFirstMoment, oneMinusAccBeta1), div(newSecondMoment, oneMinusAccBeta2)
      const float m_hat = m / s.one_minus_acc_beta1;
      const float v_hat = v / s.one_minus_acc_beta2;
      first[i] = m;
      second[i] = v;
      // add(mul(div(m_hat, add(sqrt(v_hat), epsilon)), -learningRate), value)
      const float root = std::sqrt(v_hat);
      const float denominator = root + s.epsilon;
      const float ratio = m_hat / denominator;
      const float step = ratio * s.neg_rate;
      w[i] = step + w[i];
    }
  });
}

}  // namespace syncline
