// Activations applied in place to a block of output while it is still in cache (the post-op
// of a product or a convolution).
#pragma once
#include <cmath>
#include <cstdint>
#include "kernels.h"

namespace syncline {

inline void activate(float* y, int64_t size, int activation, float alpha) {
  switch (activation) {
    case kRelu:
#pragma omp simd
      for (int64_t i = 0; i < size; i++) y[i] = y[i] > 0.f ? y[i] : 0.f;
      break;
    case kRelu6:
#pragma omp simd
      for (int64_t i = 0; i < size; i++) y[i] = std::fmin(std::fmax(y[i], 0.f), 6.f);
      break;
    case kElu:
      for (int64_t i = 0; i < size; i++) y[i] = y[i] >= 0.f ? y[i] : std::expm1(y[i]);
      break;
    case kSigmoid:
      for (int64_t i = 0; i < size; i++) y[i] = 1.f / (1.f + std::exp(-y[i]));
      break;
    case kLeakyRelu:
#pragma omp simd
      for (int64_t i = 0; i < size; i++) y[i] = y[i] < 0.f ? alpha * y[i] : y[i];
      break;
    default:
      break;
  }
}

}  // namespace syncline
