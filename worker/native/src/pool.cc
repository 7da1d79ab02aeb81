// Max and average pooling and their gradients over NHWC windows. Loops run over channels
// innermost (contiguous in NHWC, so they vectorise) and in parallel over images and rows.
// MaxPoolGrad recomputes each window's maximum from the input (TF.js passes input and output,
// not an index map) and gives the gradient to the first maximal element, as TF.js's cpu does.
#include <omp.h>
#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>
#include "kernels.h"

namespace syncline {

namespace {

struct Window {
  int64_t h0, h1, w0, w1;
};

inline Window window(const ConvGeometry& g, int64_t oh, int64_t ow) {
  const int64_t h = oh * g.stride_h - g.pad_top, w = ow * g.stride_w - g.pad_left;
  return {std::max<int64_t>(h, 0), std::min(h + g.filter_h, g.in_h), std::max<int64_t>(w, 0),
          std::min(w + g.filter_w, g.in_w)};
}

}  // namespace

void max_pool(const ConvGeometry& g, const float* x, float* y) {
  const int64_t c = g.in_c;
#pragma omp parallel for collapse(2) num_threads(threads()) schedule(static)
  for (int64_t b = 0; b < g.batch; b++) {
    for (int64_t oh = 0; oh < g.out_h; oh++) {
      const float* xb = x + b * g.in_h * g.in_w * c;
      for (int64_t ow = 0; ow < g.out_w; ow++) {
        float* out = y + ((b * g.out_h + oh) * g.out_w + ow) * c;
        const Window win = window(g, oh, ow);
        std::fill(out, out + c, -std::numeric_limits<float>::infinity());
        for (int64_t h = win.h0; h < win.h1; h++)
          for (int64_t w = win.w0; w < win.w1; w++) {
            const float* in = xb + (h * g.in_w + w) * c;
#pragma omp simd
            for (int64_t k = 0; k < c; k++) out[k] = in[k] > out[k] ? in[k] : out[k];
          }
      }
    }
  }
}

void max_pool_grad(const ConvGeometry& g, const float* dy, const float* x, float* dx) {
  const int64_t c = g.in_c;
  // Windows may overlap, so each image is one task: its gradient is accumulated by one thread.
  // Per window, the first maximal element of each channel (strictly greater replaces), found
  // branch-free across channels so that the loop vectorises.
#pragma omp parallel num_threads(threads())
  {
    std::vector<float> best(c);
    std::vector<int32_t> where(c);
#pragma omp for schedule(static)
    for (int64_t b = 0; b < g.batch; b++) {
      const float* xb = x + b * g.in_h * g.in_w * c;
      float* dxb = dx + b * g.in_h * g.in_w * c;
      std::memset(dxb, 0, sizeof(float) * g.in_h * g.in_w * c);
      for (int64_t oh = 0; oh < g.out_h; oh++)
        for (int64_t ow = 0; ow < g.out_w; ow++) {
          const Window win = window(g, oh, ow);
          if (win.h0 >= win.h1 || win.w0 >= win.w1) continue;
          const int32_t first = static_cast<int32_t>((win.h0 * g.in_w + win.w0) * c);
          float* bp = best.data();
          int32_t* wp = where.data();
#pragma omp simd
          for (int64_t k = 0; k < c; k++) {
            bp[k] = xb[first + k];
            wp[k] = first + static_cast<int32_t>(k);
          }
          for (int64_t h = win.h0; h < win.h1; h++)
            for (int64_t w = win.w0; w < win.w1; w++) {
              if (h == win.h0 && w == win.w0) continue;
              const int32_t at = static_cast<int32_t>((h * g.in_w + w) * c);
              const float* in = xb + at;
#pragma omp simd
              for (int64_t k = 0; k < c; k++) {
                const bool greater = in[k] > bp[k];
                bp[k] = greater ? in[k] : bp[k];
                wp[k] = greater ? at + static_cast<int32_t>(k) : wp[k];
              }
            }
          const float* d = dy + ((b * g.out_h + oh) * g.out_w + ow) * c;
          for (int64_t k = 0; k < c; k++) dxb[wp[k]] += d[k];
        }
    }
  }
}

void avg_pool(const ConvGeometry& g, const float* x, float* y) {
  const int64_t c = g.in_c;
#pragma omp parallel for collapse(2) num_threads(threads()) schedule(static)
  for (int64_t b = 0; b < g.batch; b++) {
    for (int64_t oh = 0; oh < g.out_h; oh++) {
      const float* xb = x + b * g.in_h * g.in_w * c;
      for (int64_t ow = 0; ow < g.out_w; ow++) {
        float* out = y + ((b * g.out_h + oh) * g.out_w + ow) * c;
        const Window win = window(g, oh, ow);
        std::fill(out, out + c, 0.f);
        for (int64_t h = win.h0; h < win.h1; h++)
          for (int64_t w = win.w0; w < win.w1; w++) {
            const float* in = xb + (h * g.in_w + w) * c;
#pragma omp simd
            for (int64_t k = 0; k < c; k++) out[k] += in[k];
          }
        // A window wholly in the padding averages nothing: NaN, as TF.js's cpu kernel gives.
        const float count = static_cast<float>(std::max<int64_t>(win.h1 - win.h0, 0) * std::max<int64_t>(win.w1 - win.w0, 0));
        for (int64_t k = 0; k < c; k++) out[k] /= count;
      }
    }
  }
}

void avg_pool_grad(const ConvGeometry& g, const float* dy, float* dx) {
  const int64_t c = g.in_c;
  // TF.js's gradient divides by the whole window, also where the forward pass counted only
  // the part inside the input (padding 'same'); we follow it, so both backends train alike.
  const float scale = 1.f / static_cast<float>(g.filter_h * g.filter_w);
#pragma omp parallel for num_threads(threads()) schedule(static)
  for (int64_t b = 0; b < g.batch; b++) {
    float* dxb = dx + b * g.in_h * g.in_w * c;
    std::memset(dxb, 0, sizeof(float) * g.in_h * g.in_w * c);
    for (int64_t oh = 0; oh < g.out_h; oh++)
      for (int64_t ow = 0; ow < g.out_w; ow++) {
        const Window win = window(g, oh, ow);
        const float* d = dy + ((b * g.out_h + oh) * g.out_w + ow) * c;
        for (int64_t h = win.h0; h < win.h1; h++)
          for (int64_t w = win.w0; w < win.w1; w++) {
            float* out = dxb + (h * g.in_w + w) * c;
#pragma omp simd
            for (int64_t k = 0; k < c; k++) out[k] += d[k] * scale;
          }
      }
  }
}

}  // namespace syncline
