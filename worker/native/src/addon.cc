// The Node-API module: each exported function checks and unpacks its arguments (typed arrays
// are used in place: the TF.js `native` backend keeps tensors in JS typed arrays, so nothing is
// copied) and calls one kernel of kernels.h. Failures become JavaScript exceptions.
#include <node_api.h>
#include <cmath>
#include <exception>
#include <string>
#include "kernels.h"
#include "napi-args.h"

namespace syncline {

namespace {

using Body = void (*)(const Args&);

template <Body body>
napi_value wrap(napi_env env, napi_callback_info info) {
  try {
    body(Args(env, info));
  } catch (const ArgError& e) {
    napi_throw_type_error(env, nullptr, e.what());
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, (std::string("syncline native kernel failed: ") + e.what()).c_str());
  }
  return nullptr;
}

ConvGeometry geometry(const Args& args, size_t i) {
  size_t n;
  const int32_t* g = args.array<int32_t>(i, &n);
  if (n != ConvGeometry::kFields) throw ArgError("geometry must have " + std::to_string(ConvGeometry::kFields) + " fields");
  ConvGeometry out;
  int64_t* f = &out.batch;
  for (int k = 0; k < ConvGeometry::kFields; k++) f[k] = g[k];
  return out;
}

void Gemm(const Args& a) {
  gemm(a.array<float>(0), a.array<float>(1), a.array<float>(2), a.integer(3), a.integer(4), a.integer(5), a.integer(6),
       a.boolean(7), a.boolean(8), a.integer(9), a.integer(10), a.array<float>(11, nullptr, true), static_cast<int>(a.integer(12)),
       static_cast<float>(a.number(13)));
}
void Conv2d(const Args& a) {
  conv2d(geometry(a, 0), a.array<float>(1), a.array<float>(2), a.array<float>(3, nullptr, true), a.array<float>(4),
         static_cast<int>(a.integer(5)), static_cast<float>(a.number(6)));
}
void Conv2dBackpropInput(const Args& a) { conv2d_backprop_input(geometry(a, 0), a.array<float>(1), a.array<float>(2), a.array<float>(3)); }
void Conv2dBackpropFilter(const Args& a) { conv2d_backprop_filter(geometry(a, 0), a.array<float>(1), a.array<float>(2), a.array<float>(3)); }
void MaxPool(const Args& a) { max_pool(geometry(a, 0), a.array<float>(1), a.array<float>(2)); }
void MaxPoolGrad(const Args& a) { max_pool_grad(geometry(a, 0), a.array<float>(1), a.array<float>(2), a.array<float>(3)); }
void AvgPool(const Args& a) { avg_pool(geometry(a, 0), a.array<float>(1), a.array<float>(2)); }
void AvgPoolGrad(const Args& a) { avg_pool_grad(geometry(a, 0), a.array<float>(1), a.array<float>(2)); }
void Unary(const Args& a) {
  size_t nx, ny;
  const float* x = a.array<float>(1, &nx);
  float* y = a.array<float>(2, &ny);
  if (nx != ny) throw ArgError("unary: input and output differ in length");
  unary(static_cast<int>(a.integer(0)), x, y, static_cast<int64_t>(nx), static_cast<float>(a.number(3)),
        static_cast<float>(a.number(4)));
}
void Binary(const Args& a) {
  binary(static_cast<int>(a.integer(0)), a.array<float>(1), static_cast<int>(a.integer(2)), a.array<float>(3),
         static_cast<int>(a.integer(4)), a.array<float>(5), a.integer(6), a.integer(7), a.integer(8));
}
void Compare(const Args& a) {
  compare(static_cast<int>(a.integer(0)), a.array<float>(1), static_cast<int>(a.integer(2)), a.array<float>(3),
          static_cast<int>(a.integer(4)), a.array<uint8_t>(5), a.integer(6), a.integer(7), a.integer(8));
}
void CompareBool(const Args& a) {
  compare_bool(static_cast<int>(a.integer(0)), a.array<uint8_t>(1), static_cast<int>(a.integer(2)), a.array<uint8_t>(3),
               static_cast<int>(a.integer(4)), a.array<uint8_t>(5), a.integer(6), a.integer(7), a.integer(8));
}
void Select(const Args& a) {
  size_t n;
  float* out = a.array<float>(3, &n);
  select(a.array<uint8_t>(0), a.array<float>(1), a.array<float>(2), out, static_cast<int64_t>(n));
}
void CopyRows(const Args& a) {
  size_t ns, nd;
  const float* src = a.array<float>(0, &ns);
  float* dst = a.array<float>(3, &nd);
  const int64_t so = a.integer(1), ss = a.integer(2), d0 = a.integer(4), ds = a.integer(5), rows = a.integer(6), len = a.integer(7);
  // Bounds: a wrong stride would write past the array.
  if (rows > 0 && (so < 0 || d0 < 0 || so + (rows - 1) * ss + len > static_cast<int64_t>(ns) ||
                   d0 + (rows - 1) * ds + len > static_cast<int64_t>(nd)))
    throw ArgError("copyRows: rows run past an array");
  copy_rows(src, so, ss, dst, d0, ds, rows, len);
}
void SumMiddle(const Args& a) { sum_middle(a.array<float>(0), a.array<float>(1), a.integer(2), a.integer(3), a.integer(4)); }
void Softmax(const Args& a) { softmax(a.array<float>(0), a.array<float>(1), a.integer(2), a.integer(3)); }
uint32_t uint32_arg(const Args& a, size_t i, const char* what) {
  const double v = a.number(i);
  if (!(v >= 0 && v <= 4294967295.0 && v == std::floor(v))) throw ArgError(std::string(what) + " must be an integer in [0, 2^32)");
  return static_cast<uint32_t>(v);
}
void DropoutMask(const Args& a) {
  size_t rows, n;
  const uint32_t* samples = a.array<uint32_t>(2, &rows);
  float* out = a.array<float>(7, &n);
  const int64_t per_sample = a.integer(4);
  if (per_sample < 0 || static_cast<int64_t>(n) != static_cast<int64_t>(rows) * per_sample) throw ArgError("dropoutMask: the output is not rows x perSample");
  const double rate = a.number(5);
  if (!(rate >= 0 && rate < 1)) throw ArgError("dropoutMask: rate must be in [0, 1)");
  dropout_mask(uint32_arg(a, 0, "seed"), uint32_arg(a, 1, "epoch"), samples, static_cast<int64_t>(rows), uint32_arg(a, 3, "stream"),
               per_sample, rate, static_cast<float>(a.number(6)), out);
}
void BatchNorm(const Args& a) {
  size_t nx, ny, nm, nv, ns, no;
  const float* x = a.array<float>(0, &nx);
  const float* mean = a.array<float>(1, &nm);
  const float* variance = a.array<float>(2, &nv);
  const float* scale = a.array<float>(3, &ns);
  const float* offset = a.array<float>(4, &no);
  float* y = a.array<float>(6, &ny);
  const int64_t channels = a.integer(7);
  const auto fits = [&](size_t length) { return length == 1 || static_cast<int64_t>(length) == channels; };
  if (channels < 1 || nx != ny || nx % channels != 0 || !fits(nm) || !fits(nv) || !fits(ns) || !fits(no))
    throw ArgError("batchNorm: x and y must be rows x channels, each parameter 1 or channels values");
  batch_norm(x, mean, nm, variance, nv, scale, ns, offset, no, a.number(5), y, static_cast<int64_t>(nx) / channels, channels);
}
// The fused updates take the whole all-reduced sum and the offset of the variable's slice.
const float* gradient_slice(const Args& a, int64_t size) {
  size_t n;
  const float* sum = a.array<float>(0, &n);
  const int64_t offset = a.integer(1);
  if (offset < 0 || offset + size > static_cast<int64_t>(n)) throw ArgError("optimizer update: the variable's slice runs past the gradient sum");
  return sum + offset;
}
float* same_length(const Args& a, size_t i, size_t length) {
  size_t n;
  float* out = a.array<float>(i, &n);
  if (n != length) throw ArgError("optimizer update: a slot differs in length from its variable");
  return out;
}
void SgdUpdate(const Args& a) {
  size_t n;
  float* w = a.array<float>(5, &n);
  sgd_update(gradient_slice(a, static_cast<int64_t>(n)), a.number(2), a.number(3), static_cast<float>(a.number(4)), w,
             static_cast<int64_t>(n));
}
void MomentumUpdate(const Args& a) {
  size_t n;
  float* w = a.array<float>(7, &n);
  momentum_update(gradient_slice(a, static_cast<int64_t>(n)), a.number(2), a.number(3), static_cast<float>(a.number(4)),
                  static_cast<float>(a.number(5)), a.boolean(6), w, same_length(a, 8, n), static_cast<int64_t>(n));
}
void AdamUpdate(const Args& a) {
  size_t n, fields;
  const float* scalars = a.array<float>(4, &fields);
  if (fields != AdamScalars::kFields) throw ArgError("adamUpdate: scalars must have " + std::to_string(AdamScalars::kFields) + " fields");
  AdamScalars s;
  float* f = &s.beta1;
  for (int k = 0; k < AdamScalars::kFields; k++) f[k] = scalars[k];
  float* w = a.array<float>(5, &n);
  adam_update(gradient_slice(a, static_cast<int64_t>(n)), a.number(2), a.number(3), s, w, same_length(a, 6, n),
              same_length(a, 7, n), static_cast<int64_t>(n));
}

napi_value MeanGradientSquareSum(napi_env env, napi_callback_info info) {
  try {
    const Args a(env, info);
    size_t n;
    const float* sum = a.array<float>(0, &n);
    const int64_t length = a.integer(1);
    if (length < 0 || length > static_cast<int64_t>(n)) throw ArgError("meanGradientSquareSum: length runs past the gradient sum");
    napi_value out;
    napi_create_double(env, mean_gradient_square_sum(sum, length, a.number(2)), &out);
    return out;
  } catch (const ArgError& e) {
    napi_throw_type_error(env, nullptr, e.what());
  }
  return nullptr;
}
void SetThreads(const Args& a) { set_threads(static_cast<int>(a.integer(0))); }

napi_value Threads(napi_env env, napi_callback_info) {
  napi_value out;
  napi_create_int32(env, threads(), &out);
  return out;
}

napi_value Versions(napi_env env, napi_callback_info) {
  napi_value out, onednn, openblas;
  napi_create_object(env, &out);
  napi_create_string_utf8(env, onednn_version(), NAPI_AUTO_LENGTH, &onednn);
  napi_create_string_utf8(env, openblas_config(), NAPI_AUTO_LENGTH, &openblas);
  napi_set_named_property(env, out, "onednn", onednn);
  napi_set_named_property(env, out, "openblas", openblas);
  return out;
}

napi_value Init(napi_env env, napi_value exports) {
  const napi_property_descriptor functions[] = {
      {"gemm", nullptr, wrap<Gemm>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2d", nullptr, wrap<Conv2d>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackpropInput", nullptr, wrap<Conv2dBackpropInput>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackpropFilter", nullptr, wrap<Conv2dBackpropFilter>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPool", nullptr, wrap<MaxPool>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPoolGrad", nullptr, wrap<MaxPoolGrad>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"avgPool", nullptr, wrap<AvgPool>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"avgPoolGrad", nullptr, wrap<AvgPoolGrad>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"unary", nullptr, wrap<Unary>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"binary", nullptr, wrap<Binary>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"compare", nullptr, wrap<Compare>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"compareBool", nullptr, wrap<CompareBool>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"select", nullptr, wrap<Select>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"copyRows", nullptr, wrap<CopyRows>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sumMiddle", nullptr, wrap<SumMiddle>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"softmax", nullptr, wrap<Softmax>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"dropoutMask", nullptr, wrap<DropoutMask>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNorm", nullptr, wrap<BatchNorm>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"meanGradientSquareSum", nullptr, MeanGradientSquareSum, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sgdUpdate", nullptr, wrap<SgdUpdate>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"momentumUpdate", nullptr, wrap<MomentumUpdate>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"adamUpdate", nullptr, wrap<AdamUpdate>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, wrap<SetThreads>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"threads", nullptr, Threads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"versions", nullptr, Versions, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(functions) / sizeof(functions[0]), functions);
  set_threads(1);
  return exports;
}

}  // namespace

}  // namespace syncline

NAPI_MODULE(NODE_GYP_MODULE_NAME, syncline::Init)
