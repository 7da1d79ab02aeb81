// Element-wise kernels, reductions over a middle axis, softmax. Memory-bound: each is one pass,
// vectorised by the compiler (one template instance per op, so the op is inlined into its loop)
// and split over threads above a size where that pays.
#include <omp.h>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <vector>
#include "kernels.h"

namespace syncline {

namespace {

// Below this many elements a loop runs on one thread.
constexpr int64_t kParallelElements = 1 << 15;

void unary_range(int op, const float* x, float* y, int64_t n, float alpha, float beta) {
  switch (op) {
    case kUnaryRelu:
#pragma omp simd
      for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0.f ? x[i] : 0.f;
      break;
    case kUnaryRelu6:
#pragma omp simd
      for (int64_t i = 0; i < n; i++) y[i] = std::fmin(std::fmax(x[i], 0.f), 6.f);
      break;
    case kUnaryElu:
      for (int64_t i = 0; i < n; i++) y[i] = x[i] >= 0.f ? x[i] : std::expm1(x[i]);
      break;
    case kUnarySigmoid:
#pragma omp simd
      for (int64_t i = 0; i < n; i++) y[i] = 1.f / (1.f + std::exp(-x[i]));
      break;
    case kUnaryTanh:
#pragma omp simd
      for (int64_t i = 0; i < n; i++) y[i] = std::tanh(x[i]);
      break;
    case kUnaryExp:
#pragma omp simd
      for (int64_t i = 0; i < n; i++) y[i] = std::exp(x[i]);
      break;
    case kUnaryLog:
#pragma omp simd
      for (int64_t i = 0; i < n; i++) y[i] = std::log(x[i]);
      break;
    case kUnaryNeg:
#pragma omp simd
      for (int64_t i = 0; i < n; i++) y[i] = -x[i];
      break;
    case kUnarySquare:
#pragma omp simd
      for (int64_t i = 0; i < n; i++) y[i] = x[i] * x[i];
      break;
    case kUnarySqrt:
#pragma omp simd
      for (int64_t i = 0; i < n; i++) y[i] = std::sqrt(x[i]);
      break;
    case kUnaryRsqrt:
#pragma omp simd
      for (int64_t i = 0; i < n; i++) y[i] = 1.f / std::sqrt(x[i]);
      break;
    case kUnaryAbs:
#pragma omp simd
      for (int64_t i = 0; i < n; i++) y[i] = std::fabs(x[i]);
      break;
    case kUnaryStep:
      // TF.js's step: alpha where x <= 0, 1 where x > 0, NaN stays NaN.
      for (int64_t i = 0; i < n; i++) y[i] = std::isnan(x[i]) ? x[i] : (x[i] > 0.f ? 1.f : alpha);
      break;
    case kUnaryLeakyRelu:
#pragma omp simd
      for (int64_t i = 0; i < n; i++) y[i] = x[i] < 0.f ? alpha * x[i] : x[i];
      break;
    case kUnaryReciprocal:
#pragma omp simd
      for (int64_t i = 0; i < n; i++) y[i] = 1.f / x[i];
      break;
    case kUnaryClip:
      // TF.js's clipByValue: NaN stays NaN.
      for (int64_t i = 0; i < n; i++) y[i] = std::isnan(x[i]) ? x[i] : std::min(std::max(x[i], alpha), beta);
      break;
    case kUnarySoftplus:
      for (int64_t i = 0; i < n; i++) y[i] = x[i] > 15.f ? x[i] : std::log1p(std::exp(x[i]));
      break;
  }
}

template <int Op>
inline float apply(float x, float y) {
  if constexpr (Op == kAdd) return x + y;
  if constexpr (Op == kSub) return x - y;
  if constexpr (Op == kMul) return x * y;
  if constexpr (Op == kDiv) return x / y;
  if constexpr (Op == kMaximum) return x >= y || std::isnan(x) ? x : y;
  if constexpr (Op == kMinimum) return x <= y || std::isnan(x) ? x : y;
  if constexpr (Op == kSquaredDifference) return (x - y) * (x - y);
  // x = dy, y = the activation's output (relu) or input (elu): the gradient in one pass.
  if constexpr (Op == kReluGrad) return y > 0.f ? x : 0.f;
  if constexpr (Op == kEluGrad) return y < 0.f ? x * (y + 1.f) : x;
  return 0.f;
}

// Rows [row0, row1) of the (outer, middle, inner) view; each row is `inner` contiguous outputs,
// where an operand advances with the output (modes 0 and 1) or stays on one value (2 and 3).
template <int Op, typename In, typename Out, Out (*F)(In, In)>
void rows_of(const In* a, int mode_a, const In* b, int mode_b, Out* out, int64_t middle, int64_t inner, int64_t row0,
             int64_t row1) {
  auto offset = [&](int mode, int64_t o, int64_t r) -> int64_t {
    switch (mode) {
      case 0: return (o * middle + r) * inner;
      case 1: return o * inner;
      case 2: return r;
      default: return 0;
    }
  };
  const bool a_runs = mode_a <= 1, b_runs = mode_b <= 1;
  for (int64_t row = row0; row < row1; row++) {
    const int64_t o = row / middle, r = row - o * middle;
    const In* pa = a + offset(mode_a, o, r);
    const In* pb = b + offset(mode_b, o, r);
    Out* po = out + row * inner;
    if (a_runs && b_runs) {
#pragma omp simd
      for (int64_t i = 0; i < inner; i++) po[i] = F(pa[i], pb[i]);
    } else if (a_runs) {
      const In bv = *pb;
#pragma omp simd
      for (int64_t i = 0; i < inner; i++) po[i] = F(pa[i], bv);
    } else if (b_runs) {
      const In av = *pa;
#pragma omp simd
      for (int64_t i = 0; i < inner; i++) po[i] = F(av, pb[i]);
    } else {
      const Out v = F(*pa, *pb);
      std::fill(po, po + inner, v);
    }
  }
}

template <int Op, typename In, typename Out, Out (*F)(In, In)>
void over_view(const In* a, int mode_a, const In* b, int mode_b, Out* out, int64_t outer, int64_t middle,
               int64_t inner) {
  // Whole arrays and scalars: one row of everything, so that the loop is as long as possible.
  if (mode_a != 1 && mode_a != 2 && mode_b != 1 && mode_b != 2) {
    inner *= outer * middle;
    outer = middle = 1;
  }
  const int64_t rows = outer * middle, size = rows * inner;
  const int t = (threads() == 1 || size < kParallelElements) ? 1 : threads();
  if (t == 1) return rows_of<Op, In, Out, F>(a, mode_a, b, mode_b, out, middle, inner, 0, rows);
  if (rows == 1) {
    // Split the one row: shift each operand that advances.
    const int64_t chunk = (inner + t - 1) / t;
#pragma omp parallel for num_threads(t) schedule(static)
    for (int p = 0; p < t; p++) {
      const int64_t lo = p * chunk, hi = std::min(inner, lo + chunk);
      if (lo < hi)
        rows_of<Op, In, Out, F>(a + (mode_a <= 1 ? lo : 0), mode_a, b + (mode_b <= 1 ? lo : 0), mode_b, out + lo, 1,
                                hi - lo, 0, 1);
    }
    return;
  }
#pragma omp parallel for num_threads(t) schedule(static)
  for (int p = 0; p < t; p++) {
    const int64_t chunk = (rows + t - 1) / t, lo = p * chunk, hi = std::min(rows, lo + chunk);
    if (lo < hi) rows_of<Op, In, Out, F>(a, mode_a, b, mode_b, out, middle, inner, lo, hi);
  }
}

template <int Op>
inline uint8_t compare_of(float x, float y) {
  if constexpr (Op == kGreater) return x > y;
  if constexpr (Op == kGreaterEqual) return x >= y;
  if constexpr (Op == kLess) return x < y;
  if constexpr (Op == kLessEqual) return x <= y;
  if constexpr (Op == kEqual) return x == y;
  if constexpr (Op == kNotEqual) return x != y;
  return 0;
}

template <int Op>
inline uint8_t logical_of(uint8_t x, uint8_t y) {
  if constexpr (Op == kLogicalAnd) return (x != 0) & (y != 0);
  return (x != 0) | (y != 0);
}

template <int Op>
void binary_op(const float* a, int mode_a, const float* b, int mode_b, float* out, int64_t outer, int64_t middle,
               int64_t inner) {
  over_view<Op, float, float, apply<Op>>(a, mode_a, b, mode_b, out, outer, middle, inner);
}

}  // namespace

void unary(int op, const float* x, float* y, int64_t size, float alpha, float beta) {
  const int t = threads();
  if (t == 1 || size < kParallelElements) return unary_range(op, x, y, size, alpha, beta);
  const int64_t chunk = (size + t - 1) / t;
#pragma omp parallel for num_threads(t) schedule(static)
  for (int p = 0; p < t; p++) {
    const int64_t lo = p * chunk, hi = std::min(size, lo + chunk);
    if (lo < hi) unary_range(op, x + lo, y + lo, hi - lo, alpha, beta);
  }
}

void binary(int op, const float* a, int mode_a, const float* b, int mode_b, float* out, int64_t outer, int64_t middle,
            int64_t inner) {
  switch (op) {
    case kAdd: return binary_op<kAdd>(a, mode_a, b, mode_b, out, outer, middle, inner);
    case kSub: return binary_op<kSub>(a, mode_a, b, mode_b, out, outer, middle, inner);
    case kMul: return binary_op<kMul>(a, mode_a, b, mode_b, out, outer, middle, inner);
    case kDiv: return binary_op<kDiv>(a, mode_a, b, mode_b, out, outer, middle, inner);
    case kMaximum: return binary_op<kMaximum>(a, mode_a, b, mode_b, out, outer, middle, inner);
    case kMinimum: return binary_op<kMinimum>(a, mode_a, b, mode_b, out, outer, middle, inner);
    case kSquaredDifference: return binary_op<kSquaredDifference>(a, mode_a, b, mode_b, out, outer, middle, inner);
    case kReluGrad: return binary_op<kReluGrad>(a, mode_a, b, mode_b, out, outer, middle, inner);
    case kEluGrad: return binary_op<kEluGrad>(a, mode_a, b, mode_b, out, outer, middle, inner);
    default: throw std::invalid_argument("unknown binary op");
  }
}

void compare(int op, const float* a, int mode_a, const float* b, int mode_b, uint8_t* out, int64_t outer,
             int64_t middle, int64_t inner) {
#define SYNCLINE_COMPARE(OP) \
  case OP: return over_view<OP, float, uint8_t, compare_of<OP>>(a, mode_a, b, mode_b, out, outer, middle, inner);
  switch (op) {
    SYNCLINE_COMPARE(kGreater)
    SYNCLINE_COMPARE(kGreaterEqual)
    SYNCLINE_COMPARE(kLess)
    SYNCLINE_COMPARE(kLessEqual)
    SYNCLINE_COMPARE(kEqual)
    SYNCLINE_COMPARE(kNotEqual)
    default: throw std::invalid_argument("unknown comparison");
  }
#undef SYNCLINE_COMPARE
}

void compare_bool(int op, const uint8_t* a, int mode_a, const uint8_t* b, int mode_b, uint8_t* out, int64_t outer,
                  int64_t middle, int64_t inner) {
  if (op == kLogicalAnd)
    return over_view<kLogicalAnd, uint8_t, uint8_t, logical_of<kLogicalAnd>>(a, mode_a, b, mode_b, out, outer, middle, inner);
  if (op == kLogicalOr)
    return over_view<kLogicalOr, uint8_t, uint8_t, logical_of<kLogicalOr>>(a, mode_a, b, mode_b, out, outer, middle, inner);
  throw std::invalid_argument("unknown logical op");
}

void select(const uint8_t* cond, const float* a, const float* b, float* out, int64_t size) {
#pragma omp simd
  for (int64_t i = 0; i < size; i++) out[i] = cond[i] ? a[i] : b[i];
}

void copy_rows(const float* src, int64_t src_offset, int64_t src_stride, float* dst, int64_t dst_offset,
               int64_t dst_stride, int64_t rows, int64_t length) {
  for (int64_t r = 0; r < rows; r++)
    std::memcpy(dst + dst_offset + r * dst_stride, src + src_offset + r * src_stride, sizeof(float) * length);
}

void sum_middle(const float* x, float* out, int64_t outer, int64_t middle, int64_t inner) {
  const int t = (threads() == 1 || outer * middle * inner < kParallelElements) ? 1 : threads();
  if (inner == 1) {
#pragma omp parallel for num_threads(t) schedule(static) if (t > 1)
    for (int64_t o = 0; o < outer; o++) {
      const float* row = x + o * middle;
      double s = 0.;
#pragma omp simd reduction(+ : s)
      for (int64_t r = 0; r < middle; r++) s += row[r];
      out[o] = static_cast<float>(s);
    }
    return;
  }
  if (outer >= t || t == 1) {
#pragma omp parallel num_threads(t) if (t > 1)
    {
      std::vector<double> acc(inner);
#pragma omp for schedule(static)
      for (int64_t o = 0; o < outer; o++) {
        std::fill(acc.begin(), acc.end(), 0.);
        for (int64_t r = 0; r < middle; r++) {
          const float* row = x + (o * middle + r) * inner;
#pragma omp simd
          for (int64_t i = 0; i < inner; i++) acc[i] += row[i];
        }
        for (int64_t i = 0; i < inner; i++) out[o * inner + i] = static_cast<float>(acc[i]);
      }
    }
    return;
  }
  // One outer slice (bias gradients: [rows, channels] -> [channels]): each thread sums a range
  // of rows into its own partial, then the partials are added.
  std::vector<double> partial(static_cast<size_t>(t) * inner * outer, 0.);
#pragma omp parallel num_threads(t)
  {
    const int p = omp_get_thread_num();
    const int64_t chunk = (middle + t - 1) / t, lo = p * chunk, hi = std::min(middle, lo + chunk);
    for (int64_t o = 0; o < outer; o++) {
      double* acc = partial.data() + (static_cast<int64_t>(p) * outer + o) * inner;
      for (int64_t r = lo; r < hi; r++) {
        const float* row = x + (o * middle + r) * inner;
#pragma omp simd
        for (int64_t i = 0; i < inner; i++) acc[i] += row[i];
      }
    }
  }
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      double s = 0.;
      for (int p = 0; p < t; p++) s += partial[(static_cast<int64_t>(p) * outer + o) * inner + i];
      out[o * inner + i] = static_cast<float>(s);
    }
}

void softmax(const float* x, float* y, int64_t rows, int64_t cols) {
  const int t = (threads() == 1 || rows * cols < kParallelElements) ? 1 : threads();
#pragma omp parallel for num_threads(t) schedule(static) if (t > 1)
  for (int64_t r = 0; r < rows; r++) {
    const float* in = x + r * cols;
    float* out = y + r * cols;
    float m = -INFINITY;
    for (int64_t c = 0; c < cols; c++) m = std::max(m, in[c]);
    float s = 0.f;
    for (int64_t c = 0; c < cols; c++) {
      out[c] = std::exp(in[c] - m);
      s += out[c];
    }
    for (int64_t c = 0; c < cols; c++) out[c] /= s;
  }
}

}  // namespace syncline
