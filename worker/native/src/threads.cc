// The thread count every kernel uses. OpenMP is the one pool: oneDNN (built on OpenMP in
// Debian) reads omp_get_max_threads(), our loops pass num_threads, and OpenBLAS is kept at one
// thread because it is called from inside that pool.
#include <cblas.h>
#include <omp.h>
#include <atomic>
#include "kernels.h"

namespace syncline {

namespace {
std::atomic<int> configured{1};
}

void set_threads(int n) {
  if (n < 1) n = 1;
  configured = n;
  omp_set_num_threads(n);
  openblas_set_num_threads(1);
}

int threads() { return configured; }

}  // namespace syncline
