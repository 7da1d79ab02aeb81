// Argument helpers for the addon's functions: every function takes typed arrays (used in place,
// never copied) and numbers, and throws a JavaScript TypeError when a caller passes anything else.
#pragma once
#include <node_api.h>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace syncline {

// Thrown by helpers and kernels; the wrapper in addon.cc turns it into a JavaScript exception.
struct ArgError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Args {
 public:
  Args(napi_env env, napi_callback_info info) : env_(env) {
    argc_ = kMax;
    napi_get_cb_info(env, info, &argc_, argv_, nullptr, nullptr);
  }
  size_t count() const { return argc_; }

  template <typename T>
  T* array(size_t i, size_t* length = nullptr, bool nullable = false) const {
    napi_value v = at(i);
    napi_valuetype kind;
    napi_typeof(env_, v, &kind);
    if (nullable && (kind == napi_null || kind == napi_undefined)) {
      if (length) *length = 0;
      return nullptr;
    }
    bool is = false;
    napi_is_typedarray(env_, v, &is);
    if (!is) throw ArgError("argument " + std::to_string(i) + " must be a typed array");
    napi_typedarray_type type;
    size_t len;
    void* data;
    napi_get_typedarray_info(env_, v, &type, &len, &data, nullptr, nullptr);
    if (type != expected<T>()) throw ArgError("argument " + std::to_string(i) + " has the wrong element type");
    if (length) *length = len;
    return static_cast<T*>(data);
  }

  int64_t integer(size_t i) const {
    int64_t out;
    if (napi_get_value_int64(env_, at(i), &out) != napi_ok) throw ArgError("argument " + std::to_string(i) + " must be a number");
    return out;
  }
  double number(size_t i) const {
    double out;
    if (napi_get_value_double(env_, at(i), &out) != napi_ok) throw ArgError("argument " + std::to_string(i) + " must be a number");
    return out;
  }
  bool boolean(size_t i) const {
    bool out;
    if (napi_get_value_bool(env_, at(i), &out) != napi_ok) throw ArgError("argument " + std::to_string(i) + " must be a boolean");
    return out;
  }

 private:
  static constexpr size_t kMax = 16;
  napi_value at(size_t i) const {
    if (i >= argc_) throw ArgError("missing argument " + std::to_string(i));
    return argv_[i];
  }
  template <typename T>
  static napi_typedarray_type expected();
  napi_env env_;
  size_t argc_;
  napi_value argv_[kMax];
};

template <>
inline napi_typedarray_type Args::expected<float>() { return napi_float32_array; }
template <>
inline napi_typedarray_type Args::expected<int32_t>() { return napi_int32_array; }
template <>
inline napi_typedarray_type Args::expected<uint8_t>() { return napi_uint8_array; }
template <>
inline napi_typedarray_type Args::expected<uint32_t>() { return napi_uint32_array; }

}  // namespace syncline
