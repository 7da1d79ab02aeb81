// Dropout masks from per-sample Philox draws: the same numbers as worker/src/random/philox.ts
// and sample-random.ts compute in JavaScript (Philox4x32-10; counter (sample, epoch, block of
// four draws, stream), key (seed, "SYNC"); a uniform keeps the top 24 bits of its draw), so a
// mask is the same whether the addon or the JavaScript made it. Rows are independent and split
// across the threads.
#include <omp.h>
#include <algorithm>
#include "kernels.h"

namespace syncline {

namespace {

constexpr uint32_t kM0 = 0xd2511f53, kM1 = 0xcd9e8d57, kW0 = 0x9e3779b9, kW1 = 0xbb67ae85;
constexpr uint32_t kDomain = 0x53594e43;  // "SYNC"
constexpr double kUnit = 1.0 / 16777216.0;  // 2^-24

inline void philox4x32(uint32_t x[4], uint32_t key0, uint32_t key1) {
  for (int round = 0; round < 10; round++) {
    if (round > 0) {
      key0 += kW0;
      key1 += kW1;
    }
    const uint64_t p0 = static_cast<uint64_t>(kM0) * x[0];
    const uint64_t p1 = static_cast<uint64_t>(kM1) * x[2];
    const uint32_t y0 = static_cast<uint32_t>(p1 >> 32) ^ x[1] ^ key0;
    const uint32_t y2 = static_cast<uint32_t>(p0 >> 32) ^ x[3] ^ key1;
    x[0] = y0;
    x[1] = static_cast<uint32_t>(p1);
    x[2] = y2;
    x[3] = static_cast<uint32_t>(p0);
  }
}

void mask_row(uint32_t seed, uint32_t epoch, uint32_t sample, uint32_t stream, int64_t count, double rate, float scale,
              float* out) {
  for (int64_t i = 0; i < count; i += 4) {
    uint32_t x[4] = {sample, epoch, static_cast<uint32_t>(i / 4), stream};
    philox4x32(x, seed, kDomain);
    const int64_t n = std::min<int64_t>(4, count - i);
    for (int64_t j = 0; j < n; j++) out[i + j] = (x[j] >> 8) * kUnit >= rate ? scale : 0.0f;
  }
}

}  // namespace

void dropout_mask(uint32_t seed, uint32_t epoch, const uint32_t* samples, int64_t rows, uint32_t stream,
                  int64_t per_sample, double rate, float scale, float* out) {
  const int t = (threads() == 1 || rows * per_sample < (1 << 15)) ? 1 : threads();
#pragma omp parallel for num_threads(t) schedule(static)
  for (int64_t r = 0; r < rows; r++) mask_row(seed, epoch, samples[r], stream, per_sample, rate, scale, out + r * per_sample);
}

}  // namespace syncline
