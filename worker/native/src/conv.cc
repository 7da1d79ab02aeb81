// Convolutions and both of their gradients on oneDNN, in TF.js's layouts: NHWC activations
// (used in place: reordering them would cost as much as the convolution) and HWIO filters
// (reordered to and from the layout oneDNN picks: they are small). Bias and activation of the
// forward pass are oneDNN post-ops. Primitives are built once per geometry and kept.
#include <dnnl.hpp>
#include <array>
#include <cstdio>
#include <cstring>
#include <unordered_map>
#include <map>
#include <memory>
#include <mutex>
#include "kernels.h"

namespace syncline {

namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}
dnnl::stream& stream() {
  static dnnl::stream s(engine());
  return s;
}

struct Dims {
  memory::dims src, weights, bias, dst, strides, dilates, pad_l, pad_r;
};

Dims dims_of(const ConvGeometry& g) {
  Dims d;
  d.src = {g.batch, g.in_c, g.in_h, g.in_w};
  d.weights = {g.out_c, g.in_c, g.filter_h, g.filter_w};
  d.bias = {g.out_c};
  d.dst = {g.batch, g.out_c, g.out_h, g.out_w};
  d.strides = {g.stride_h, g.stride_w};
  d.dilates = {g.dilation_h - 1, g.dilation_w - 1};
  d.pad_l = {g.pad_top, g.pad_left};
  // oneDNN derives the output size from both paddings; TF.js gives the output size and the
  // leading padding. The trailing padding that yields that size (the smallest one that is not
  // negative where possible, since floor division allows several).
  const int64_t ext_h = (g.filter_h - 1) * g.dilation_h + 1, ext_w = (g.filter_w - 1) * g.dilation_w + 1;
  int64_t pr_h = (g.out_h - 1) * g.stride_h + ext_h - g.in_h - g.pad_top;
  int64_t pr_w = (g.out_w - 1) * g.stride_w + ext_w - g.in_w - g.pad_left;
  if (pr_h < 0 && pr_h + g.stride_h - 1 >= 0) pr_h = 0;
  if (pr_w < 0 && pr_w + g.stride_w - 1 >= 0) pr_w = 0;
  d.pad_r = {pr_h, pr_w};
  return d;
}

using Key = std::array<int64_t, ConvGeometry::kFields + 3>;
Key key_of(const ConvGeometry& g, int kind, int a = 0, int b = 0) {
  Key k{};
  const int64_t* f = &g.batch;
  for (int i = 0; i < ConvGeometry::kFields; i++) k[i] = f[i];
  k[ConvGeometry::kFields] = kind;
  k[ConvGeometry::kFields + 1] = a;
  k[ConvGeometry::kFields + 2] = b;
  return k;
}

memory::desc plain(const memory::dims& dims, tag t) { return memory::desc(dims, dt::f32, t); }

struct Forward {
  dnnl::convolution_forward::primitive_desc pd;
  dnnl::convolution_forward prim;
  dnnl::reorder weights_in;
  memory::desc user_weights;
};
struct BackwardData {
  dnnl::convolution_backward_data::primitive_desc pd;
  dnnl::convolution_backward_data prim;
  dnnl::reorder weights_in;
  memory::desc user_weights;
};
struct BackwardWeights {
  dnnl::convolution_backward_weights::primitive_desc pd;
  dnnl::convolution_backward_weights prim;
  dnnl::reorder weights_out;
  memory::desc user_weights;
};

dnnl::convolution_forward::desc forward_desc(const Dims& d, bool with_bias, dnnl::prop_kind kind) {
  auto src = plain(d.src, tag::nhwc), dst = plain(d.dst, tag::nhwc);
  auto weights = memory::desc(d.weights, dt::f32, tag::any);
  if (with_bias)
    return dnnl::convolution_forward::desc(kind, dnnl::algorithm::convolution_direct, src, weights,
                                           plain(d.bias, tag::x), dst, d.strides, d.dilates, d.pad_l, d.pad_r);
  return dnnl::convolution_forward::desc(kind, dnnl::algorithm::convolution_direct, src, weights, dst, d.strides,
                                         d.dilates, d.pad_l, d.pad_r);
}

dnnl::algorithm eltwise_of(int activation, float* alpha, float* beta) {
  *beta = 0.f;
  switch (activation) {
    case kRelu:
      *alpha = 0.f;
      return dnnl::algorithm::eltwise_relu;
    case kLeakyRelu:
      return dnnl::algorithm::eltwise_relu;  // alpha is the negative slope
    case kRelu6:
      *alpha = 0.f;
      *beta = 6.f;
      return dnnl::algorithm::eltwise_clip;
    case kElu:
      *alpha = 1.f;
      return dnnl::algorithm::eltwise_elu;
    case kSigmoid:
      return dnnl::algorithm::eltwise_logistic;
    default:
      return dnnl::algorithm::undef;
  }
}

std::mutex cache_mutex;
std::map<Key, std::shared_ptr<Forward>> forwards;
std::map<Key, std::shared_ptr<BackwardData>> backward_datas;
std::map<Key, std::shared_ptr<BackwardWeights>> backward_weights;

// A training-mode forward descriptor: the hint the backward primitives are built from.
dnnl::convolution_forward::primitive_desc forward_hint(const Dims& d) {
  return dnnl::convolution_forward::primitive_desc(forward_desc(d, false, dnnl::prop_kind::forward_training), engine());
}

std::shared_ptr<Forward> forward_for(const ConvGeometry& g, bool with_bias, int activation, float alpha) {
  std::lock_guard<std::mutex> lock(cache_mutex);
  uint32_t alpha_bits;
  static_assert(sizeof(alpha_bits) == sizeof(alpha));
  std::memcpy(&alpha_bits, &alpha, sizeof(alpha));
  const Key key = key_of(g, with_bias ? 1 : 0, activation, static_cast<int>(alpha_bits));
  auto it = forwards.find(key);
  if (it != forwards.end()) return it->second;
  const Dims d = dims_of(g);
  dnnl::primitive_attr attr;
  float a = alpha, b = 0.f;
  const auto algorithm = eltwise_of(activation, &a, &b);
  if (algorithm != dnnl::algorithm::undef) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.f, algorithm, a, b);
    attr.set_post_ops(ops);
  }
  auto pd = dnnl::convolution_forward::primitive_desc(forward_desc(d, with_bias, dnnl::prop_kind::forward_inference),
                                                      attr, engine());
  auto user = plain(d.weights, tag::hwio);
  auto f = std::make_shared<Forward>(Forward{pd, dnnl::convolution_forward(pd),
                                             dnnl::reorder(memory(user, engine()), memory(pd.weights_desc(), engine())),
                                             user});
  forwards.emplace(key, f);
  return f;
}

std::shared_ptr<BackwardData> backward_data_for(const ConvGeometry& g) {
  std::lock_guard<std::mutex> lock(cache_mutex);
  const Key key = key_of(g, 2);
  auto it = backward_datas.find(key);
  if (it != backward_datas.end()) return it->second;
  const Dims d = dims_of(g);
  dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, plain(d.src, tag::nhwc),
                                             memory::desc(d.weights, dt::f32, tag::any), plain(d.dst, tag::nhwc),
                                             d.strides, d.dilates, d.pad_l, d.pad_r);
  dnnl::convolution_backward_data::primitive_desc pd(desc, engine(), forward_hint(d));
  auto user = plain(d.weights, tag::hwio);
  auto b = std::make_shared<BackwardData>(BackwardData{
      pd, dnnl::convolution_backward_data(pd),
      dnnl::reorder(memory(user, engine()), memory(pd.weights_desc(), engine())), user});
  backward_datas.emplace(key, b);
  return b;
}

std::shared_ptr<BackwardWeights> backward_weights_for(const ConvGeometry& g) {
  std::lock_guard<std::mutex> lock(cache_mutex);
  const Key key = key_of(g, 3);
  auto it = backward_weights.find(key);
  if (it != backward_weights.end()) return it->second;
  const Dims d = dims_of(g);
  dnnl::convolution_backward_weights::desc desc(dnnl::algorithm::convolution_direct, plain(d.src, tag::nhwc),
                                                memory::desc(d.weights, dt::f32, tag::any), plain(d.dst, tag::nhwc),
                                                d.strides, d.dilates, d.pad_l, d.pad_r);
  dnnl::convolution_backward_weights::primitive_desc pd(desc, engine(), forward_hint(d));
  auto user = plain(d.weights, tag::hwio);
  auto b = std::make_shared<BackwardWeights>(BackwardWeights{
      pd, dnnl::convolution_backward_weights(pd),
      dnnl::reorder(memory(pd.diff_weights_desc(), engine()), memory(user, engine())), user});
  backward_weights.emplace(key, b);
  return b;
}

memory wrap(const memory::desc& md, const float* data) {
  return memory(md, engine(), const_cast<float*>(data));
}

}  // namespace

void conv2d(const ConvGeometry& g, const float* x, const float* w, const float* bias, float* y, int activation,
            float alpha) {
  auto f = forward_for(g, bias != nullptr, activation, alpha);
  const Dims d = dims_of(g);
  memory weights(f->pd.weights_desc(), engine());
  memory user = wrap(f->user_weights, w);
  f->weights_in.execute(stream(), user, weights);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, wrap(f->pd.src_desc(), x)},
                                       {DNNL_ARG_WEIGHTS, weights},
                                       {DNNL_ARG_DST, wrap(f->pd.dst_desc(), y)}};
  if (bias) args.emplace(DNNL_ARG_BIAS, wrap(plain(d.bias, tag::x), bias));
  f->prim.execute(stream(), args);
  stream().wait();
}

void conv2d_backprop_input(const ConvGeometry& g, const float* dy, const float* w, float* dx) {
  auto b = backward_data_for(g);
  memory weights(b->pd.weights_desc(), engine());
  memory user = wrap(b->user_weights, w);
  b->weights_in.execute(stream(), user, weights);
  b->prim.execute(stream(), {{DNNL_ARG_DIFF_DST, wrap(b->pd.diff_dst_desc(), dy)},
                             {DNNL_ARG_WEIGHTS, weights},
                             {DNNL_ARG_DIFF_SRC, wrap(b->pd.diff_src_desc(), dx)}});
  stream().wait();
}

void conv2d_backprop_filter(const ConvGeometry& g, const float* x, const float* dy, float* dw) {
  auto b = backward_weights_for(g);
  memory diff_weights(b->pd.diff_weights_desc(), engine());
  b->prim.execute(stream(), {{DNNL_ARG_SRC, wrap(b->pd.src_desc(), x)},
                             {DNNL_ARG_DIFF_DST, wrap(b->pd.diff_dst_desc(), dy)},
                             {DNNL_ARG_DIFF_WEIGHTS, diff_weights}});
  memory user = wrap(b->user_weights, dw);
  b->weights_out.execute(stream(), diff_weights, user);
  stream().wait();
}

const char* onednn_version() {
  static char text[32];
  const dnnl_version_t* v = dnnl_version();
  std::snprintf(text, sizeof(text), "%d.%d.%d", v->major, v->minor, v->patch);
  return text;
}

}  // namespace syncline
