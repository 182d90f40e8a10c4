// Where a native model's weights come from: a checkpoint directory, or tensors built in memory
// (the built-in demo models). Models load through this one interface, so a built-in model runs
// exactly the code path of a real checkpoint.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "moeroute/checkpoint.h"

namespace moeroute::detail {

class WeightSource {
 public:
  virtual ~WeightSource() = default;
  virtual bool contains(const std::string& name) const = 0;
  /// Every tensor name, sorted.
  virtual std::vector<std::string> names() const = 0;
  /// Stored shape; throws InputError naming the source and tensor when absent.
  virtual std::vector<int64_t> shape(const std::string& name) const = 0;
  /// Stored size in bytes (placement estimates).
  virtual int64_t stored_bytes(const std::string& name) const = 0;
  /// Stored dtype's name ("BF16", "U8", …) and whether it is a floating type.
  virtual std::string stored_dtype(const std::string& name) const = 0;
  virtual bool stored_float(const std::string& name) const = 0;
  /// The stored dtype as a LibTorch type (none for types LibTorch lacks, e.g. float8).
  virtual std::optional<at::ScalarType> stored_type(const std::string& name) const = 0;
  /// The tensor on `device`; floating tensors become `float_dtype` when set.
  virtual at::Tensor load(const std::string& name, const c10::Device& device,
                          std::optional<at::ScalarType> float_dtype) const = 0;
  /// How errors name the file holding `name` (or the source when absent).
  virtual std::string where(const std::string& name) const = 0;

  /// Loads `name` after checking its shape; the InputError names the file, tensor, both shapes
  /// and `why` (the config fields the expected shape comes from). With `float_dtype` set, an
  /// integer tensor is an InputError too.
  at::Tensor load_checked(const std::string& name, const std::vector<int64_t>& expected, const std::string& why,
                          const c10::Device& device, std::optional<at::ScalarType> float_dtype) const;
  /// Throws InputError when `name` is absent or its shape differs from `expected`.
  void check_shape(const std::string& name, const std::vector<int64_t>& expected, const std::string& why) const;
  /// check_shape, and an InputError naming the dtype when the stored tensor is not floating point.
  void check_float(const std::string& name, const std::vector<int64_t>& expected, const std::string& why) const;
};

/// A checkpoint directory (zero-copy on the CPU where possible).
class CheckpointWeights final : public WeightSource {
 public:
  explicit CheckpointWeights(std::shared_ptr<const Checkpoint> checkpoint) : checkpoint_(std::move(checkpoint)) {}
  bool contains(const std::string& name) const override { return checkpoint_->contains(name); }
  std::vector<std::string> names() const override { return checkpoint_->names(); }
  std::vector<int64_t> shape(const std::string& name) const override { return checkpoint_->info(name).shape; }
  int64_t stored_bytes(const std::string& name) const override;
  std::string stored_dtype(const std::string& name) const override { return dtype_name(checkpoint_->info(name).dtype); }
  bool stored_float(const std::string& name) const override;
  std::optional<at::ScalarType> stored_type(const std::string& name) const override;
  at::Tensor load(const std::string& name, const c10::Device& device,
                  std::optional<at::ScalarType> float_dtype) const override;
  std::string where(const std::string& name) const override;

 private:
  std::shared_ptr<const Checkpoint> checkpoint_;
};

/// Named tensors in memory (CPU), as a checkpoint would hold them.
class TensorMapWeights final : public WeightSource {
 public:
  TensorMapWeights(std::map<std::string, at::Tensor> tensors, std::string name)
      : tensors_(std::move(tensors)), name_(std::move(name)) {}
  bool contains(const std::string& name) const override { return tensors_.count(name) != 0; }
  std::vector<std::string> names() const override;
  std::vector<int64_t> shape(const std::string& name) const override;
  int64_t stored_bytes(const std::string& name) const override;
  std::string stored_dtype(const std::string& name) const override { return c10::toString(get(name).scalar_type()); }
  bool stored_float(const std::string& name) const override { return get(name).is_floating_point(); }
  std::optional<at::ScalarType> stored_type(const std::string& name) const override { return get(name).scalar_type(); }
  at::Tensor load(const std::string& name, const c10::Device& device,
                  std::optional<at::ScalarType> float_dtype) const override;
  std::string where(const std::string&) const override { return name_; }

 private:
  const at::Tensor& get(const std::string& name) const;
  std::map<std::string, at::Tensor> tensors_;
  std::string name_;
};

}  // namespace moeroute::detail
