// The addon's kernels as plain C++ over raw pointers (row-major, NHWC, TF.js's layouts), so that
// addon.cc only translates arguments. Outputs never alias inputs.
#pragma once
#include <cstdint>

namespace syncline {

// Activations fused into products and convolutions; the codes are mirrored in
// worker/src/backends/native/addon.ts.
enum Activation : int { kLinear = 0, kRelu = 1, kRelu6 = 2, kElu = 3, kSigmoid = 4, kLeakyRelu = 5 };

// Threads used by every kernel (one OpenMP pool: oneDNN's, our loops', and OpenBLAS called
// one-threaded from inside it).
void set_threads(int n);
int threads();

// c[i] = act(op(a[i]) x op(b[i]) + bias) for i < batch; a and b advance by their strides per
// batch entry (0 broadcasts one matrix); bias has n values (one per column) or is null.
void gemm(const float* a, const float* b, float* c, int64_t batch, int64_t m, int64_t n, int64_t k, bool transpose_a,
          bool transpose_b, int64_t stride_a, int64_t stride_b, const float* bias, int activation, float alpha);

// Convolution geometry, as TF.js computes it (computeConv2DInfo), NHWC input, HWIO filter.
struct ConvGeometry {
  int64_t batch, in_h, in_w, in_c, out_h, out_w, out_c, filter_h, filter_w, stride_h, stride_w, dilation_h, dilation_w,
      pad_top, pad_left;
  static constexpr int kFields = 15;
};

void conv2d(const ConvGeometry& g, const float* x, const float* w, const float* bias, float* y, int activation, float alpha);
void conv2d_backprop_input(const ConvGeometry& g, const float* dy, const float* w, float* dx);
void conv2d_backprop_filter(const ConvGeometry& g, const float* x, const float* dy, float* dw);

// Pooling over NHWC windows (same geometry fields; out_c == in_c). Windows count only the
// elements inside the input (TF.js's average pooling excludes padding).
void max_pool(const ConvGeometry& g, const float* x, float* y);
void max_pool_grad(const ConvGeometry& g, const float* dy, const float* x, float* dx);
void avg_pool(const ConvGeometry& g, const float* x, float* y);
void avg_pool_grad(const ConvGeometry& g, const float* dy, float* dx);

// Element-wise kernels; the op codes are mirrored in addon.ts.
enum Unary : int {
  kUnaryRelu = 0, kUnaryRelu6, kUnaryElu, kUnarySigmoid, kUnaryTanh, kUnaryExp, kUnaryLog, kUnaryNeg, kUnarySquare,
  kUnarySqrt, kUnaryRsqrt, kUnaryAbs, kUnaryStep, kUnaryLeakyRelu, kUnaryReciprocal, kUnarySoftplus, kUnaryClip
};
// alpha: Step's value for x <= 0, LeakyRelu's slope, Clip's minimum; beta: Clip's maximum.
void unary(int op, const float* x, float* y, int64_t size, float alpha, float beta);

enum Binary : int { kAdd = 0, kSub, kMul, kDiv, kMaximum, kMinimum, kSquaredDifference, kReluGrad, kEluGrad };
// out[o, r, i] = a[...] op b[...] over an (outer, middle, inner) view of the output: each
// operand either spans the whole output (mode 0), repeats its (outer, inner) over the middle
// axis (mode 1: broadcast along middle), spans (middle) and repeats over outer and inner
// (mode 2), or is one scalar (mode 3). Covers same-shape, scalar, bias-like and row broadcasts.
void binary(int op, const float* a, int mode_a, const float* b, int mode_b, float* out, int64_t outer, int64_t middle,
            int64_t inner);

enum Compare : int { kGreater = 0, kGreaterEqual, kLess, kLessEqual, kEqual, kNotEqual, kLogicalAnd, kLogicalOr };
// The comparisons of two float operands (or, for the logical ops, two bool operands given as
// floats' storage reinterpreted: callers pass uint8 through compare_bool), as 0/1 bytes, over
// the same (outer, middle, inner) view and modes as binary().
void compare(int op, const float* a, int mode_a, const float* b, int mode_b, uint8_t* out, int64_t outer,
             int64_t middle, int64_t inner);
void compare_bool(int op, const uint8_t* a, int mode_a, const uint8_t* b, int mode_b, uint8_t* out, int64_t outer,
                  int64_t middle, int64_t inner);
// out = cond ? a : b, all of one size.
void select(const uint8_t* cond, const float* a, const float* b, float* out, int64_t size);
// rows x length floats from src (first at src_offset, rows src_stride apart) to dst: the copies
// of slicing, splitting and concatenating along an axis.
void copy_rows(const float* src, int64_t src_offset, int64_t src_stride, float* dst, int64_t dst_offset,
               int64_t dst_stride, int64_t rows, int64_t length);

// Dropout masks (random.cc): rows x per_sample values, row r from the Philox draws of sample
// samples[r] (sample-random.ts's key layout): scale where the draw's uniform is >= rate, else 0.
void dropout_mask(uint32_t seed, uint32_t epoch, const uint32_t* samples, int64_t rows, uint32_t stream,
                  int64_t per_sample, double rate, float scale, float* out);
// Batch normalization's forward (norm.cc) over rows x channels; each parameter has `channels`
// values or one: y = offset + (x - mean) * scale / sqrt(variance + epsilon), in double.
void batch_norm(const float* x, const float* mean, int64_t mean_length, const float* variance, int64_t variance_length,
                const float* scale, int64_t scale_length, const float* offset, int64_t offset_length, double epsilon,
                float* y, int64_t rows, int64_t channels);

// out[o, i] = sum over r of x[o, r, i].
void sum_middle(const float* x, float* out, int64_t outer, int64_t middle, int64_t inner);
// Softmax over the last axis of rows x cols.
void softmax(const float* x, float* y, int64_t rows, int64_t cols);

// Fused optimizer updates (optimizer.cc), in place. `sum` is a variable's slice of the
// all-reduced gradient sum; its mean gradient is (float)(sum[i] / samples), then, when
// scale >= 0, (float)(mean * scale) in float64: VariableSet.meanGradients' values. Each update
// is TF.js's formula for its optimizer, one float32 operation at a time in TF.js's order.
// The float64 sum of the squared mean gradients (the global norm's square), in element order.
double mean_gradient_square_sum(const float* sum, int64_t size, double samples);
// w = (-rate * g) + w
void sgd_update(const float* sum, double samples, double scale, float neg_rate, float* w, int64_t size);
// a = momentum * a + g; w = (-rate * a) + w, or with nesterov (-rate * (g + a * momentum)) + w
void momentum_update(const float* sum, double samples, double scale, float neg_rate, float momentum, bool nesterov,
                     float* w, float* accumulation, int64_t size);
// Adam's constants for one step, each the float32 value the TF.js kernels see.
struct AdamScalars {
  float beta1, one_minus_beta1, beta2, one_minus_beta2, one_minus_acc_beta1, one_minus_acc_beta2, epsilon, neg_rate;
  static constexpr int kFields = 8;
};
void adam_update(const float* sum, double samples, double scale, const AdamScalars& s, float* w, float* first,
                 float* second, int64_t size);

const char* onednn_version();
const char* openblas_config();

}  // namespace syncline
