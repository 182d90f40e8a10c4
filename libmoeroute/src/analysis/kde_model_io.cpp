// The KDE model file (docs/kde.md, "Model file"): safetensors with the description as JSON in
// __metadata__["moeroute.kde"] and, per trim, the sorted logits of every layer back to back.
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "io/json_input.h"
#include "io/moeroute_file.h"
#include "io/tensor_bytes.h"
#include "moeroute/atomic_file.h"
#include "moeroute/error.h"
#include "moeroute/kde_model.h"
#include "moeroute/safetensors.h"
#include "moeroute/version.h"

namespace moeroute {

namespace {

constexpr detail::MoerouteFileKind kModelFile{"moeroute.kde", "KDE model", "docs/kde.md", kKdeFormatVersion};

using detail::as_bytes;
using detail::copy_out;

std::string data_tensor(int trim) { return fmt::format("logits.trim{}", trim); }

nlohmann::ordered_json bandwidth_json(const BandwidthRule& r) {
  if (r.kind == BandwidthRule::Kind::Factor) return r.factor;
  return to_string(r);
}

}  // namespace

void save_kde_model(const KdeModel& model, const std::filesystem::path& path) {
  const size_t L = static_cast<size_t>(model.num_layers());
  nlohmann::ordered_json j;
  j["model_id"] = model.model_id;
  j["num_experts"] = model.num_experts;
  j["top_k"] = model.top_k;
  j["layers"] = nlohmann::ordered_json::array();
  for (const auto& l : model.layers) j["layers"].push_back({{"name", l.name}, {"index", l.index}});
  j["logits_kind"] = "raw";
  j["training"] = {{"traces", model.training_traces}, {"rows", model.training_rows}};
  j["variants"] = nlohmann::ordered_json::array();
  j["moeroute_version"] = kVersion;

  SafetensorsWriter w;
  w.add("choice_counts", Dtype::I64, {static_cast<int64_t>(L), model.num_experts}, as_bytes(model.choice_counts));
  std::map<int, bool> written;  // trims whose data are stored
  for (const KdeVariant& v : model.variants) {
    if (v.layers.size() != L)
      throw InputError(fmt::format("KDE model variant '{}' has {} layers, the model {}", v.name, v.layers.size(), L));
    j["variants"].push_back({{"name", v.name},
                             {"kernel", to_string(v.kernel)},
                             {"bandwidth", bandwidth_json(v.bandwidth)},
                             {"trim", v.trim},
                             {"data", data_tensor(v.trim)}});
    if (!written[v.trim]) {
      std::vector<float> all;
      std::vector<int64_t> offsets{0};
      for (const KernelDensity& k : v.layers) {
        all.insert(all.end(), k.sorted_data().begin(), k.sorted_data().end());
        offsets.push_back(static_cast<int64_t>(all.size()));
      }
      w.add(data_tensor(v.trim), Dtype::F32, {static_cast<int64_t>(all.size())}, as_bytes(all));
      w.add(data_tensor(v.trim) + ".offsets", Dtype::I64, {static_cast<int64_t>(L) + 1}, as_bytes(offsets));
      written[v.trim] = true;
    }
    std::vector<double> sd, factor, bw;
    for (const KernelDensity& k : v.layers) {
      sd.push_back(k.std_dev());
      factor.push_back(k.factor());
      bw.push_back(k.bandwidth());
    }
    w.add(v.name + ".std", Dtype::F64, {static_cast<int64_t>(L)}, as_bytes(sd));
    w.add(v.name + ".factor", Dtype::F64, {static_cast<int64_t>(L)}, as_bytes(factor));
    w.add(v.name + ".bandwidth", Dtype::F64, {static_cast<int64_t>(L)}, as_bytes(bw));
  }
  w.set_metadata({{detail::kFormatKey, std::string(kModelFile.format)},
                  {detail::kFormatVersionKey, std::to_string(kKdeFormatVersion)},
                  {std::string(kModelFile.format), j.dump()}});
  write_file_atomic(path, w.serialize());
}

KdeModel load_kde_model(const std::filesystem::path& path) {
  const std::string file = path.string();
  const SafetensorsFile st(path);
  const auto j = detail::read_moeroute_header(st, kModelFile).description;
  j.expect_object("a KDE model description");

  KdeModel m;
  m.source = file;
  m.model_id = j.at("model_id").string();
  m.num_experts = static_cast<int>(j.at("num_experts").integer(1, INT32_MAX));
  m.top_k = static_cast<int>(j.at("top_k").integer(1, m.num_experts));
  for (const auto& l : j.at("layers").elements())
    m.layers.push_back({l.at("name").string(), static_cast<int>(l.at("index").integer(INT32_MIN, INT32_MAX))});
  if (m.layers.empty()) j.at("layers").fail("expected at least one layer");
  j.at("logits_kind").one_of({"raw"});
  const auto training = j.at("training");
  m.training_traces = training.at("traces").strings();
  m.training_rows = training.at("rows").integer(1, INT64_MAX);

  const int64_t L = m.num_layers(), E = m.num_experts;
  auto tensor = [&](const std::string& name, Dtype dtype, std::vector<int64_t> shape) {
    const TensorInfo& info = st.info(name);
    if (info.dtype != dtype)
      throw InputError(fmt::format("{}: tensor '{}' has dtype {}, expected {}", file, name, dtype_name(info.dtype),
                                   dtype_name(dtype)));
    if (!shape.empty() && info.shape != shape)
      throw InputError(fmt::format("{}: tensor '{}' has shape [{}], expected [{}]", file, name, fmt::join(info.shape, ", "),
                                   fmt::join(shape, ", ")));
    if (info.shape.size() != 1 && shape.empty())
      throw InputError(fmt::format("{}: tensor '{}' has {} dimensions, expected 1", file, name, info.shape.size()));
    return st.bytes(name);
  };
  m.choice_counts = copy_out<int64_t>(tensor("choice_counts", Dtype::I64, {L, E}));

  std::map<int, std::vector<std::shared_ptr<const std::vector<float>>>> data;  // per trim, per layer
  for (const auto& v : j.at("variants").elements()) {
    KdeVariant kv;
    kv.name = v.at("name").string();
    kv.kernel = parse_kde_kernel(v.at("kernel").one_of({"gaussian", "epanechnikov", "tophat"}));
    const auto bw = v.at("bandwidth");
    kv.bandwidth = bw.is_string() ? parse_bandwidth_rule(bw.one_of({"scott", "silverman"}))
                                  : BandwidthRule{BandwidthRule::Kind::Factor, bw.number(0x1p-1000, 1e300)};
    kv.trim = static_cast<int>(v.at("trim").integer(0, E - 1));
    if (v.at("data").string() != data_tensor(kv.trim)) v.at("data").fail("expected '" + data_tensor(kv.trim) + "'");
    for (const KdeVariant& other : m.variants)
      if (other.name == kv.name) v.at("name").fail("the name is used twice");
    auto& layers = data[kv.trim];
    if (layers.empty()) {
      const auto all = copy_out<float>(tensor(data_tensor(kv.trim), Dtype::F32, {}));
      const auto off = copy_out<int64_t>(tensor(data_tensor(kv.trim) + ".offsets", Dtype::I64, {L + 1}));
      for (int64_t l = 0; l < L; ++l) {
        const int64_t b = off[static_cast<size_t>(l)], e = off[static_cast<size_t>(l) + 1];
        if (b < 0 || e < b || e > static_cast<int64_t>(all.size()) || (l == 0 && b != 0) ||
            (l == L - 1 && e != static_cast<int64_t>(all.size())))
          throw InputError(fmt::format("{}: tensor '{}.offsets' [{}] = {}, {} does not delimit the {} values of '{}'",
                                       file, data_tensor(kv.trim), l, b, e, all.size(), data_tensor(kv.trim)));
        layers.push_back(std::make_shared<const std::vector<float>>(all.begin() + b, all.begin() + e));
      }
    }
    const auto sd = copy_out<double>(tensor(kv.name + ".std", Dtype::F64, {L}));
    const auto factor = copy_out<double>(tensor(kv.name + ".factor", Dtype::F64, {L}));
    const auto bwv = copy_out<double>(tensor(kv.name + ".bandwidth", Dtype::F64, {L}));
    for (int64_t l = 0; l < L; ++l) {
      const size_t i = static_cast<size_t>(l);
      kv.layers.push_back(KernelDensity::from_parts(layers[i], kv.kernel, kv.bandwidth, factor[i], sd[i], bwv[i],
                                                    fmt::format("{}: variant '{}', layer '{}'", file, kv.name,
                                                                m.layers[i].name)));
    }
    m.variants.push_back(std::move(kv));
  }
  if (m.variants.empty()) j.at("variants").fail("expected at least one variant");
  return m;
}

}  // namespace moeroute
