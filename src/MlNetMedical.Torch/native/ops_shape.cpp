// Shape, view, joining, splitting and indexing ops.
#include "shim.h"

#include <ATen/TensorIndexing.h>

using namespace mlnm;

extern "C" {

// Ops that take one list of ints (sizes, permutation, repeats, dims to flip or squeeze).
MLNM_API mlnm_status mlnm_shape_op(int32_t op, mlnm_tensor t, const int64_t* values, int64_t count, mlnm_tensor* out) {
  return guarded([&] {
    auto& x = unwrap(t);
    auto v = dims(values, count);
    switch (op) {
      case MLNM_RESHAPE: put(out, x.reshape(v)); break;
      case MLNM_VIEW: put(out, x.view(v)); break;
      case MLNM_PERMUTE: put(out, x.permute(v)); break;
      case MLNM_EXPAND: put(out, x.expand(v)); break;
      case MLNM_REPEAT: put(out, x.repeat(v)); break;
      case MLNM_FLIP: put(out, x.flip(v)); break;
      case MLNM_BROADCAST_TO: put(out, x.broadcast_to(v)); break;
      case MLNM_SQUEEZE_DIMS: {
        // Squeezes the listed dims (highest first so indices stay valid); all size-1 dims when none listed.
        if (count == 0) { put(out, x.squeeze()); break; }
        std::vector<int64_t> sorted;
        for (auto d : v) sorted.push_back(c10::maybe_wrap_dim(d, x.dim()));
        std::sort(sorted.rbegin(), sorted.rend());
        at::Tensor r = x;
        for (auto d : sorted) r = r.squeeze(d);
        put(out, r);
        break;
      }
      default: throw std::invalid_argument("unknown shape op " + std::to_string(op));
    }
  });
}

MLNM_API mlnm_status mlnm_transpose(mlnm_tensor t, int64_t dim0, int64_t dim1, mlnm_tensor* out) {
  return guarded([&] { put(out, unwrap(t).transpose(dim0, dim1)); });
}

MLNM_API mlnm_status mlnm_unsqueeze(mlnm_tensor t, int64_t dim, mlnm_tensor* out) {
  return guarded([&] { put(out, unwrap(t).unsqueeze(dim)); });
}

MLNM_API mlnm_status mlnm_flatten(mlnm_tensor t, int64_t start_dim, int64_t end_dim, mlnm_tensor* out) {
  return guarded([&] { put(out, unwrap(t).flatten(start_dim, end_dim)); });
}

MLNM_API mlnm_status mlnm_narrow(mlnm_tensor t, int64_t dim, int64_t start, int64_t length, mlnm_tensor* out) {
  return guarded([&] { put(out, unwrap(t).narrow(dim, start, length)); });
}

MLNM_API mlnm_status mlnm_select(mlnm_tensor t, int64_t dim, int64_t index, mlnm_tensor* out) {
  return guarded([&] { put(out, unwrap(t).select(dim, index)); });
}

MLNM_API mlnm_status mlnm_slice(mlnm_tensor t, int64_t dim, int64_t start, int64_t end, int64_t step, mlnm_tensor* out) {
  return guarded([&] { put(out, unwrap(t).slice(dim, start, end, step)); });
}

// Indexes with a list of items, each four int64: kind (0 index, 1 slice, 2 new axis, 3 ellipsis), then
// index or (start, end, step). end = INT64_MAX means "to the end".
MLNM_API mlnm_status mlnm_index(mlnm_tensor t, const int64_t* items, int64_t count, mlnm_tensor* out) {
  return guarded([&] {
    if (count < 0 || (count > 0 && items == nullptr)) throw std::invalid_argument("invalid index list");
    using namespace at::indexing;
    std::vector<TensorIndex> index;
    index.reserve(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
      const int64_t* it = items + 4 * i;
      switch (it[0]) {
        case 0: index.emplace_back(it[1]); break;
        case 1: index.emplace_back(Slice(it[1], it[2] == INT64_MAX ? c10::optional<int64_t>() : it[2], it[3])); break;
        case 2: index.emplace_back(None); break;
        case 3: index.emplace_back(Ellipsis); break;
        default: throw std::invalid_argument("unknown index kind " + std::to_string(it[0]));
      }
    }
    put(out, unwrap(t).index(index));
  });
}

// cat (stack = 0) or stack (stack = 1) along dim.
MLNM_API mlnm_status mlnm_cat(const mlnm_tensor* tensors, int64_t count, int64_t dim, int32_t stack, mlnm_tensor* out) {
  return guarded([&] {
    auto list = unwrap_all(tensors, count);
    put(out, stack ? at::stack(list, dim) : at::cat(list, dim));
  });
}

// split into pieces of `size` (chunk = 0) or into `size` chunks (chunk = 1) along dim.
MLNM_API mlnm_status mlnm_split(mlnm_tensor t, int64_t size, int64_t dim, int32_t chunk, mlnm_tensor* out,
                                int64_t capacity, int64_t* count) {
  return guarded([&] {
    auto& x = unwrap(t);
    put_all(chunk ? x.chunk(size, dim) : x.split(size, dim), out, capacity, count);
  });
}

MLNM_API mlnm_status mlnm_split_sizes(mlnm_tensor t, const int64_t* sizes, int64_t nsizes, int64_t dim, mlnm_tensor* out,
                                      int64_t capacity, int64_t* count) {
  return guarded([&] { put_all(unwrap(t).split_with_sizes(dims(sizes, nsizes), dim), out, capacity, count); });
}

MLNM_API mlnm_status mlnm_index_select(mlnm_tensor t, int64_t dim, mlnm_tensor index, mlnm_tensor* out) {
  return guarded([&] { put(out, at::index_select(unwrap(t), dim, unwrap(index))); });
}

MLNM_API mlnm_status mlnm_gather(mlnm_tensor t, int64_t dim, mlnm_tensor index, mlnm_tensor* out) {
  return guarded([&] { put(out, at::gather(unwrap(t), dim, unwrap(index))); });
}

// scatter (add = 0) or scatter_add (add = 1) of src along dim; in-place when out is null.
MLNM_API mlnm_status mlnm_scatter(mlnm_tensor t, int64_t dim, mlnm_tensor index, mlnm_tensor src, int32_t add,
                                  mlnm_tensor* out) {
  return guarded([&] {
    auto& x = unwrap(t);
    auto& i = unwrap(index);
    auto& s = unwrap(src);
    if (out == nullptr) add ? x.scatter_add_(dim, i, s) : x.scatter_(dim, i, s);
    else put(out, add ? at::scatter_add(x, dim, i, s) : at::scatter(x, dim, i, s));
  });
}

MLNM_API mlnm_status mlnm_scatter_value(mlnm_tensor t, int64_t dim, mlnm_tensor index, double value, int32_t integral,
                                        mlnm_tensor* out) {
  return guarded([&] {
    auto& x = unwrap(t);
    if (out == nullptr) x.scatter_(dim, unwrap(index), scalar(value, integral));
    else put(out, at::scatter(x, dim, unwrap(index), scalar(value, integral)));
  });
}

// Pads the last dims: pads = (left, right, top, bottom, ...) as torch.nn.functional.pad.
// mode: 0 constant, 1 reflect, 2 replicate, 3 circular.
MLNM_API mlnm_status mlnm_pad(mlnm_tensor t, const int64_t* pads, int64_t npads, int32_t mode, double value,
                              mlnm_tensor* out) {
  return guarded([&] {
    static const char* modes[] = {"constant", "reflect", "replicate", "circular"};
    if (mode < 0 || mode > 3) throw std::invalid_argument("unknown pad mode " + std::to_string(mode));
    c10::optional<double> v = mode == 0 ? c10::optional<double>(value) : c10::nullopt;
    put(out, at::pad(unwrap(t), dims(pads, npads), modes[mode], v));
  });
}

MLNM_API mlnm_status mlnm_roll(mlnm_tensor t, const int64_t* shifts, int64_t nshifts, const int64_t* roll_dims,
                               int64_t ndims, mlnm_tensor* out) {
  return guarded([&] { put(out, at::roll(unwrap(t), dims(shifts, nshifts), dims(roll_dims, ndims))); });
}

MLNM_API mlnm_status mlnm_one_hot(mlnm_tensor t, int64_t num_classes, mlnm_tensor* out) {
  return guarded([&] { put(out, at::one_hot(unwrap(t), num_classes)); });
}

}  // extern "C"
