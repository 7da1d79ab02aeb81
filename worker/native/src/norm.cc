// Batch normalization's forward (TF.js FusedBatchNorm) over rows of `channels` values: what the
// cpu kernel computes, in the same double arithmetic and order, offset + (x - mean) * scale /
// sqrt(variance + epsilon), so the two agree bit for bit (built with -ffp-contract=off: no fused
// multiply-adds). Each parameter has one value per channel, or one for all (length 1).
#include <omp.h>
#include <cmath>
#include <vector>
#include "kernels.h"

namespace syncline {

void batch_norm(const float* x, const float* mean, int64_t mean_length, const float* variance, int64_t variance_length,
                const float* scale, int64_t scale_length, const float* offset, int64_t offset_length, double epsilon,
                float* y, int64_t rows, int64_t channels) {
  // The divisor per channel, as the cpu kernel computes it for every element.
  std::vector<double> divisor(channels);
  for (int64_t c = 0; c < channels; c++) divisor[c] = std::sqrt(static_cast<double>(variance[variance_length == 1 ? 0 : c]) + epsilon);
  const int64_t m_step = mean_length == 1 ? 0 : 1, s_step = scale_length == 1 ? 0 : 1, o_step = offset_length == 1 ? 0 : 1;
  const int t = (threads() == 1 || rows * channels < (1 << 15)) ? 1 : threads();
#pragma omp parallel for num_threads(t) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * channels;
    float* yr = y + r * channels;
    for (int64_t c = 0; c < channels; c++) {
      const double centred = static_cast<double>(xr[c]) - mean[c * m_step];
      yr[c] = static_cast<float>(static_cast<double>(offset[c * o_step]) + centred * scale[c * s_step] / divisor[c]);
    }
  }
}

}  // namespace syncline
