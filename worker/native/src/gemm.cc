// Matrix products on OpenBLAS. OpenBLAS runs one-threaded inside our OpenMP pool: each thread
// computes a block of rows (or columns) of the output and applies bias and activation to it
// while it is in cache. One pool for products, convolutions and element-wise loops means no
// two thread pools spin against each other on the same cores.
#include <cblas.h>
#include <omp.h>
#include <algorithm>
#include "activation.h"
#include "kernels.h"

namespace syncline {

namespace {

// Below this many multiply-adds a product runs on one thread: waking the others costs more.
constexpr int64_t kParallelWork = 1 << 18;

void block(const float* a, const float* b, float* c, int64_t m0, int64_t m1, int64_t n0, int64_t n1, int64_t m, int64_t n,
           int64_t k, bool ta, bool tb, const float* bias, int activation, float alpha) {
  const int64_t rows = m1 - m0, cols = n1 - n0;
  if (rows <= 0 || cols <= 0) return;
  const float* ab = ta ? a + m0 : a + m0 * k;
  const float* bb = tb ? b + n0 * k : b + n0;
  float* cb = c + m0 * n + n0;
  if (k == 0) {
    for (int64_t i = 0; i < rows; i++) std::fill(cb + i * n, cb + i * n + cols, 0.f);
  } else {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, rows, cols, k, 1.f, ab,
                ta ? m : k, bb, tb ? k : n, 0.f, cb, n);
  }
  if (bias == nullptr && activation == kLinear) return;
  for (int64_t i = 0; i < rows; i++) {
    float* row = cb + i * n;
    if (bias) {
      const float* bb2 = bias + n0;
#pragma omp simd
      for (int64_t j = 0; j < cols; j++) row[j] += bb2[j];
    }
    activate(row, cols, activation, alpha);
  }
}

}  // namespace

void gemm(const float* a, const float* b, float* c, int64_t batch, int64_t m, int64_t n, int64_t k, bool ta, bool tb,
          int64_t stride_a, int64_t stride_b, const float* bias, int activation, float alpha) {
  const int t = threads();
  const int64_t work = batch * m * n * std::max<int64_t>(k, 1);
  if (t == 1 || work < kParallelWork) {
    for (int64_t i = 0; i < batch; i++)
      block(a + i * stride_a, b + i * stride_b, c + i * m * n, 0, m, 0, n, m, n, k, ta, tb, bias, activation, alpha);
    return;
  }
  if (batch >= t) {
#pragma omp parallel for num_threads(t) schedule(static)
    for (int64_t i = 0; i < batch; i++)
      block(a + i * stride_a, b + i * stride_b, c + i * m * n, 0, m, 0, n, m, n, k, ta, tb, bias, activation, alpha);
    return;
  }
  // Few large products: split each along its longer output side, in multiples of 16 (the
  // widest kernel block) so that no thread gets a sliver.
  for (int64_t i = 0; i < batch; i++) {
    const float* ai = a + i * stride_a;
    const float* bi = b + i * stride_b;
    float* ci = c + i * m * n;
    const bool by_rows = m >= n;
    const int64_t extent = by_rows ? m : n;
    const int64_t step = std::max<int64_t>(16, ((extent + t - 1) / t + 15) / 16 * 16);
    const int64_t parts = (extent + step - 1) / step;
#pragma omp parallel for num_threads(t) schedule(static)
    for (int64_t p = 0; p < parts; p++) {
      const int64_t lo = p * step, hi = std::min(extent, lo + step);
      if (by_rows)
        block(ai, bi, ci, lo, hi, 0, n, m, n, k, ta, tb, bias, activation, alpha);
      else
        block(ai, bi, ci, 0, m, lo, hi, m, n, k, ta, tb, bias, activation, alpha);
    }
  }
}

const char* openblas_config() { return openblas_get_config(); }

}  // namespace syncline
