#include "io/torch_pickle.h"

#include <cstring>
#include <limits>
#include <unordered_map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "moeroute/error.h"

namespace moeroute::detail {

namespace {

constexpr int kMaxDepth = 200;

// A stack slot: ints (the bulk of input_ids/positions lists) stay unboxed.
struct Slot {
  PyPtr obj;
  int64_t value = 0;
  bool is_int = false;
  bool is_mark = false;
};

struct StorageType {
  const char* name;
  const char* dtype;
  int itemsize;
};
constexpr StorageType kStorages[] = {
    {"DoubleStorage", "float64", 8}, {"FloatStorage", "float32", 4}, {"HalfStorage", "float16", 2},
    {"BFloat16Storage", "bfloat16", 2}, {"LongStorage", "int64", 8}, {"IntStorage", "int32", 4},
    {"ShortStorage", "int16", 2}, {"CharStorage", "int8", 1}, {"ByteStorage", "uint8", 1},
    {"BoolStorage", "bool", 1},
};

PyPtr make(PyValue::Kind k) {
  auto v = std::make_shared<PyValue>();
  v->kind = k;
  return v;
}

class Unpickler {
 public:
  Unpickler(std::string_view data, const std::string& source) : d_(data), source_(source) {}

  PyPtr run() {
    while (true) {
      const unsigned char op = byte();
      switch (op) {
        case 0x80: byte(); break;                       // PROTO
        case 0x95: take(8); break;                      // FRAME
        case '.': return finish();                      // STOP
        case '(': stack_.push_back(Slot{nullptr, 0, false, true}); break;  // MARK
        case 'N': push(make(PyValue::Kind::None)); break;
        case 0x88: push_bool(true); break;              // NEWTRUE
        case 0x89: push_bool(false); break;             // NEWFALSE
        case 'J': push_int(static_cast<int32_t>(le(4))); break;  // BININT
        case 'K': push_int(static_cast<int64_t>(le(1))); break;  // BININT1
        case 'M': push_int(static_cast<int64_t>(le(2))); break;  // BININT2
        case 0x8a: push_long(static_cast<size_t>(le(1))); break; // LONG1
        case 0x8b: push_long(static_cast<size_t>(le(4))); break; // LONG4
        case 'G': push_float(); break;                  // BINFLOAT
        case 'X': push_text(PyValue::Kind::Str, static_cast<size_t>(le(4))); break;     // BINUNICODE
        case 0x8c: push_text(PyValue::Kind::Str, static_cast<size_t>(le(1))); break;    // SHORT_BINUNICODE
        case 0x8d: push_text(PyValue::Kind::Str, static_cast<size_t>(le(8))); break;    // BINUNICODE8
        case 'T': push_text(PyValue::Kind::Str, static_cast<size_t>(le(4))); break;     // BINSTRING
        case 'U': push_text(PyValue::Kind::Str, static_cast<size_t>(le(1))); break;     // SHORT_BINSTRING
        case 'B': push_text(PyValue::Kind::Bytes, static_cast<size_t>(le(4))); break;   // BINBYTES
        case 'C': push_text(PyValue::Kind::Bytes, static_cast<size_t>(le(1))); break;   // SHORT_BINBYTES
        case ']': push(make(PyValue::Kind::List)); break;   // EMPTY_LIST
        case '}': push(make(PyValue::Kind::Dict)); break;   // EMPTY_DICT
        case ')': push(make(PyValue::Kind::Tuple)); break;  // EMPTY_TUPLE
        case 'l': push(collect(PyValue::Kind::List, pop_mark())); break;   // LIST
        case 't': push(collect(PyValue::Kind::Tuple, pop_mark())); break;  // TUPLE
        case 0x85: push(collect(PyValue::Kind::Tuple, pop_n(1))); break;   // TUPLE1
        case 0x86: push(collect(PyValue::Kind::Tuple, pop_n(2))); break;   // TUPLE2
        case 0x87: push(collect(PyValue::Kind::Tuple, pop_n(3))); break;   // TUPLE3
        case 'd': {                                                         // DICT
          auto items = pop_mark();
          auto dict = make(PyValue::Kind::Dict);
          set_items(*dict, items);
          push(dict);
          break;
        }
        case 'a': {  // APPEND
          auto v = pop_n(1);
          append(container(PyValue::Kind::List), v);
          break;
        }
        case 'e': {  // APPENDS
          auto v = pop_mark();
          append(container(PyValue::Kind::List), v);
          break;
        }
        case 's': {  // SETITEM
          auto kv = pop_n(2);
          set_items(container(PyValue::Kind::Dict), kv);
          break;
        }
        case 'u': {  // SETITEMS
          auto kv = pop_mark();
          set_items(container(PyValue::Kind::Dict), kv);
          break;
        }
        case 'q': memo_put(le(1)); break;      // BINPUT
        case 'r': memo_put(le(4)); break;      // LONG_BINPUT
        case 0x94: memo_put(memo_.size()); break;  // MEMOIZE
        case 'h': memo_get(le(1)); break;      // BINGET
        case 'j': memo_get(le(4)); break;      // LONG_BINGET
        case 'c': {                            // GLOBAL
          const std::string module = line(), name = line();
          push(global(module, name));
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          auto mn = pop_n(2);
          if (!is_str(mn[0]) || !is_str(mn[1])) fail("STACK_GLOBAL needs two strings");
          push(global(mn[0].obj->text, mn[1].obj->text));
          break;
        }
        case 'Q': push(persistent(pop_n(1)[0])); break;  // BINPERSID
        case 'R': {                                      // REDUCE
          auto fa = pop_n(2);
          push(reduce(fa[0], fa[1]));
          break;
        }
        case 0x81: {  // NEWOBJ
          auto ca = pop_n(2);
          push(reduce(ca[0], ca[1]));
          break;
        }
        case 'b': build(pop_n(1)[0]); break;  // BUILD
        default: fail(fmt::format("pickle opcode 0x{:02x} is not supported (not a plain torch.save file?)", op));
      }
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(fmt::format("{}: pickle byte {}: {}", source_, pos_, what));
  }
  [[noreturn]] void unsupported(const std::string& what) const {
    throw UnsupportedError(fmt::format("{}: pickle byte {}: {}", source_, pos_, what));
  }

  unsigned char byte() {
    if (pos_ >= d_.size()) fail("the pickle ends without STOP: truncated?");
    return static_cast<unsigned char>(d_[pos_++]);
  }
  std::string_view take(size_t n) {
    if (n > d_.size() - pos_) fail(fmt::format("{} bytes announced but only {} left: truncated?", n, d_.size() - pos_));
    const std::string_view s = d_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  uint64_t le(size_t n) {
    const std::string_view s = take(n);
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;) v = (v << 8) | static_cast<unsigned char>(s[i]);
    return v;
  }
  std::string line() {
    const size_t nl = d_.find('\n', pos_);
    if (nl == std::string_view::npos || nl - pos_ > 256) fail("GLOBAL without a terminated name");
    std::string s(d_.substr(pos_, nl - pos_));
    pos_ = nl + 1;
    return s;
  }

  void push(PyPtr v) { stack_.push_back(Slot{std::move(v), 0, false, false}); }
  void push_int(int64_t v) { stack_.push_back(Slot{nullptr, v, true, false}); }
  void push_bool(bool b) {
    auto v = make(PyValue::Kind::Bool);
    v->boolean = b;
    push(v);
  }
  void push_long(size_t n) {
    if (n > 8) unsupported(fmt::format("an integer of {} bytes does not fit 64 bits", n));
    const std::string_view s = take(n);
    uint64_t u = 0;
    for (size_t i = n; i-- > 0;) u = (u << 8) | static_cast<unsigned char>(s[i]);
    if (n > 0 && n < 8 && (static_cast<unsigned char>(s[n - 1]) & 0x80)) u |= ~uint64_t{0} << (8 * n);  // sign-extend
    push_int(static_cast<int64_t>(u));
  }
  void push_float() {
    const std::string_view s = take(8);
    uint64_t u = 0;
    for (size_t i = 0; i < 8; ++i) u = (u << 8) | static_cast<unsigned char>(s[i]);  // big-endian
    double d;
    std::memcpy(&d, &u, 8);
    auto v = make(PyValue::Kind::Float);
    v->number = d;
    push(v);
  }
  void push_text(PyValue::Kind k, size_t n) {
    auto v = make(k);
    v->text = std::string(take(n));
    push(v);
  }

  std::vector<Slot> pop_n(size_t n) {
    if (stack_.size() < n) fail("stack underflow");
    std::vector<Slot> out(stack_.end() - static_cast<std::ptrdiff_t>(n), stack_.end());
    stack_.resize(stack_.size() - n);
    for (const auto& s : out)
      if (s.is_mark) fail("unexpected MARK");
    return out;
  }
  std::vector<Slot> pop_mark() {
    size_t i = stack_.size();
    while (i > 0 && !stack_[i - 1].is_mark) --i;
    if (i == 0) fail("no MARK on the stack");
    std::vector<Slot> out(stack_.begin() + static_cast<std::ptrdiff_t>(i), stack_.end());
    stack_.resize(i - 1);
    return out;
  }
  static bool is_str(const Slot& s) { return s.obj && s.obj->kind == PyValue::Kind::Str; }

  // The value a slot holds (ints boxed on demand).
  static PyPtr boxed(const Slot& s) {
    if (!s.is_int) return s.obj;
    auto v = make(PyValue::Kind::Int);
    v->integer = s.value;
    return v;
  }

  PyValue& container(PyValue::Kind k) {
    if (stack_.empty() || stack_.back().is_mark || !stack_.back().obj || stack_.back().obj->kind != k)
      fail(fmt::format("{} on something that is not a {}", k == PyValue::Kind::List ? "APPEND" : "SETITEM",
                       k == PyValue::Kind::List ? "list" : "dict"));
    PyValue& c = *stack_.back().obj;
    if (c.frozen) unsupported("a container is filled after being placed in another (a recursive structure)");
    return c;
  }
  void adopt(PyValue& parent, const PyPtr& child) {
    if (!child) return;
    if (child.get() == &parent) unsupported("a container that contains itself");
    child->frozen = true;
    parent.depth = std::max(parent.depth, child->depth + 1);
    if (parent.depth > kMaxDepth) unsupported(fmt::format("values nested more than {} deep", kMaxDepth));
  }
  void append(PyValue& list, const std::vector<Slot>& values) {
    for (const Slot& s : values) {
      if (s.is_int && list.int_list) {
        list.ints.push_back(s.value);
        continue;
      }
      if (list.int_list) {  // the first non-int: box what came before
        for (int64_t i : list.ints) {
          auto v = make(PyValue::Kind::Int);
          v->integer = i;
          list.items.push_back(v);
        }
        list.ints.clear();
        list.int_list = false;
      }
      PyPtr v = boxed(s);
      adopt(list, v);
      list.items.push_back(std::move(v));
    }
  }
  PyPtr collect(PyValue::Kind k, const std::vector<Slot>& values) {
    auto c = make(k);
    append(*c, values);
    return c;
  }
  void set_items(PyValue& dict, const std::vector<Slot>& kv) {
    if (kv.size() % 2 != 0) fail("SETITEMS with an odd number of values");
    for (size_t i = 0; i < kv.size(); i += 2) {
      PyPtr k = boxed(kv[i]), v = boxed(kv[i + 1]);
      adopt(dict, k);
      adopt(dict, v);
      dict.dict.emplace_back(std::move(k), std::move(v));
    }
  }

  void memo_put(uint64_t index) {
    if (stack_.empty() || stack_.back().is_mark) fail("BINPUT with an empty stack");
    if (index > (1u << 28)) fail("memo index out of range");
    memo_[index] = stack_.back();
  }
  void memo_get(uint64_t index) {
    const auto it = memo_.find(index);
    if (it == memo_.end()) fail(fmt::format("BINGET of memo {} which was never stored", index));
    stack_.push_back(it->second);
  }

  PyPtr global(const std::string& module, const std::string& name) {
    auto g = make(PyValue::Kind::Global);
    g->text = module + "." + name;
    return g;
  }

  // ('storage', <StorageType global>, key, location, numel) → a storage value.
  PyPtr persistent(const Slot& pid) {
    const PyPtr t = pid.obj;
    if (!t || t->kind != PyValue::Kind::Tuple || t->items.size() < 3 || !t->items[0] ||
        t->items[0]->kind != PyValue::Kind::Str || t->items[0]->text != "storage")
      unsupported("a persistent id that is not a torch storage");
    const PyPtr& type = t->items[1];
    const PyPtr& key = t->items[2];
    if (!type || type->kind != PyValue::Kind::Global || !key || key->kind != PyValue::Kind::Str)
      fail("damaged storage persistent id");
    auto s = make(PyValue::Kind::Storage);
    const std::string cls = type->text.substr(type->text.rfind('.') + 1);
    for (const auto& st : kStorages)
      if (cls == st.name) {
        s->tensor.dtype = st.dtype;
        s->tensor.itemsize = st.itemsize;
      }
    if (s->tensor.itemsize == 0) unsupported(fmt::format("storage type {} (moeroute reads typed storages)", type->text));
    s->tensor.storage_key = key->text;
    return s;
  }

  static std::vector<int64_t> int_tuple(const PyValue* v) {
    if (!v || (v->kind != PyValue::Kind::Tuple && v->kind != PyValue::Kind::List) || !v->int_list) return {};
    return v->ints;
  }

  PyPtr reduce(const Slot& fn, const Slot& args) {
    if (!fn.obj || fn.obj->kind != PyValue::Kind::Global) fail("REDUCE of something that is not a global");
    const std::string& f = fn.obj->text;
    const PyValue* a = args.obj.get();
    if (!a || a->kind != PyValue::Kind::Tuple) fail(fmt::format("{} called without an argument tuple", f));
    if (f == "collections.OrderedDict" || f == "builtins.dict") {
      if (a->size() != 0) unsupported(fmt::format("{} with arguments", f));
      return make(PyValue::Kind::Dict);
    }
    if (f == "torch._utils._rebuild_tensor_v2" || f == "torch._utils._rebuild_tensor") {
      if (a->int_list || a->items.size() < 4) fail(fmt::format("{} with {} arguments", f, a->size()));
      const PyValue* storage = a->items[0].get();
      if (!storage || storage->kind != PyValue::Kind::Storage) fail("tensor without a storage");
      auto t = make(PyValue::Kind::Tensor);
      t->tensor = storage->tensor;
      if (!a->items[1] || a->items[1]->kind != PyValue::Kind::Int) fail("tensor storage offset is not an int");
      t->tensor.storage_offset = a->items[1]->integer;
      t->tensor.shape = int_tuple(a->items[2].get());
      t->tensor.stride = int_tuple(a->items[3].get());
      const bool scalar_shape = a->items[2] && a->items[2]->size() == 0;
      if ((t->tensor.shape.empty() && !scalar_shape) || t->tensor.shape.size() != t->tensor.stride.size())
        fail("tensor size and stride are not matching int tuples");
      for (size_t i = 0; i < t->tensor.shape.size(); ++i)
        if (t->tensor.shape[i] < 0 || t->tensor.stride[i] < 0) fail("negative tensor size or stride");
      return t;
    }
    unsupported(fmt::format("{}(...) is not plain data; moeroute only rebuilds tensors and dicts", f));
  }

  void build(const Slot& state) {
    if (stack_.empty() || !stack_.back().obj) fail("BUILD without an object");
    PyValue& obj = *stack_.back().obj;
    if (obj.kind == PyValue::Kind::Tensor) return;  // tensor attributes (e.g. requires_grad metadata)
    if (obj.kind == PyValue::Kind::Dict && state.obj && state.obj->kind == PyValue::Kind::Dict && !obj.frozen) {
      for (const auto& kv : state.obj->dict) {
        adopt(obj, kv.first);
        adopt(obj, kv.second);
        obj.dict.push_back(kv);
      }
      return;
    }
    unsupported(fmt::format("BUILD of a {}", obj.type_name()));
  }

  PyPtr finish() {
    if (stack_.size() != 1 || stack_.back().is_mark) fail(fmt::format("{} values left on the stack at STOP", stack_.size()));
    return boxed(stack_.back());
  }

  std::string_view d_;
  const std::string& source_;
  size_t pos_ = 0;
  std::vector<Slot> stack_;
  std::unordered_map<uint64_t, Slot> memo_;
};

}  // namespace

int64_t TorchTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d) return std::numeric_limits<int64_t>::max();
    n *= d;
  }
  return n;
}

const PyValue* PyValue::get(std::string_view key) const {
  if (kind != Kind::Dict) return nullptr;
  for (const auto& [k, v] : dict)
    if (k && k->kind == Kind::Str && k->text == key) return v.get();
  return nullptr;
}

std::string PyValue::type_name() const {
  switch (kind) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::Str: return "str";
    case Kind::Bytes: return "bytes";
    case Kind::List: return "list";
    case Kind::Tuple: return "tuple";
    case Kind::Dict: return "dict";
    case Kind::Tensor: return "tensor";
    case Kind::Global: return "global " + text;
    case Kind::Storage: return "storage";
  }
  return "?";
}

PyPtr unpickle(std::string_view data, const std::string& source) { return Unpickler(data, source).run(); }

TorchFile::TorchFile(const std::filesystem::path& path) : zip_(path) {
  const ZipMember* pkl = zip_.find_suffix("data.pkl");
  if (!pkl) throw InputError(fmt::format("{}: a zip archive without data.pkl: not a torch.save file", zip_.name()));
  prefix_ = pkl->name.substr(0, pkl->name.size() - std::string_view("data.pkl").size());
  if (const ZipMember* order = zip_.find(prefix_ + "byteorder"))
    if (zip_.read_all(*order, 64) != "little")
      throw UnsupportedError(fmt::format("{}: saved on a big-endian machine", zip_.name()));
  root_ = unpickle(zip_.read_all(*pkl), fmt::format("{}: {}", zip_.name(), pkl->name));
}

std::string TorchFile::storage_bytes(const TorchTensor& t, const std::string& what) const {
  const ZipMember* m = zip_.find(prefix_ + "data/" + t.storage_key);
  if (!m) throw InputError(fmt::format("{}: {}: storage '{}' is missing from the archive", zip_.name(), what, t.storage_key));
  return zip_.read_all(*m, uint64_t{1} << 34);
}

std::vector<int64_t> TorchFile::integers(const TorchTensor& t, const std::string& what) const {
  const bool is_int = t.dtype.rfind("int", 0) == 0 || t.dtype == "uint8" || t.dtype == "bool";
  if (!is_int) throw InputError(fmt::format("{}: {}: expected an integer tensor, got {}", zip_.name(), what, t.dtype));
  const std::string bytes = storage_bytes(t, what);
  const auto elements = static_cast<int64_t>(bytes.size()) / t.itemsize;
  const int64_t n = t.numel();
  std::vector<int64_t> out;
  if (n == 0) return out;
  // The largest element index the view touches must lie in the storage.
  int64_t last = t.storage_offset;
  for (size_t i = 0; i < t.shape.size(); ++i) {
    if (t.stride[i] > 0 && t.shape[i] - 1 > (std::numeric_limits<int64_t>::max() - last) / t.stride[i])
      throw InputError(fmt::format("{}: {}: tensor view overflows", zip_.name(), what));
    last += (t.shape[i] - 1) * t.stride[i];
  }
  if (n == std::numeric_limits<int64_t>::max() || last >= elements)
    throw InputError(fmt::format("{}: {}: tensor of shape [{}] reaches element {} of a {}-element storage", zip_.name(),
                                 what, fmt::join(t.shape, ", "), last, elements));
  out.resize(static_cast<size_t>(n));
  std::vector<int64_t> idx(t.shape.size(), 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t e = t.storage_offset;
    for (size_t d = 0; d < idx.size(); ++d) e += idx[d] * t.stride[d];
    const char* p = bytes.data() + e * t.itemsize;
    int64_t v = 0;
    if (t.dtype == "int64") std::memcpy(&v, p, 8);
    else if (t.dtype == "int32") { int32_t x; std::memcpy(&x, p, 4); v = x; }
    else if (t.dtype == "int16") { int16_t x; std::memcpy(&x, p, 2); v = x; }
    else if (t.dtype == "int8") v = static_cast<signed char>(*p);
    else v = static_cast<unsigned char>(*p);
    out[static_cast<size_t>(i)] = v;
    for (size_t d = idx.size(); d-- > 0;) {
      if (++idx[d] < t.shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

std::vector<int32_t> TorchFile::int32s(const TorchTensor& t, const std::string& what) const {
  const auto wide = integers(t, what);
  std::vector<int32_t> out(wide.size());
  for (size_t i = 0; i < wide.size(); ++i) {
    if (wide[i] < std::numeric_limits<int32_t>::min() || wide[i] > std::numeric_limits<int32_t>::max())
      throw InputError(fmt::format("{}: {}: element {} = {} does not fit int32", zip_.name(), what, i, wide[i]));
    out[i] = static_cast<int32_t>(wide[i]);
  }
  return out;
}

}  // namespace moeroute::detail
