// Device and dtype options shared by the TorchScript and native backends.
#pragma once

#include <optional>
#include <string>

#include <torch/torch.h>

namespace moeroute::detail {

/// Parses "cpu", "cuda", "cuda:1", … and checks the device exists. Throws InputError.
c10::Device parse_device(const std::string& text);

/// "auto" → nullopt; "float32"/"fp32"/"f32", "bfloat16"/"bf16", "float16"/"fp16"/"f16"/"half".
/// Throws InputError otherwise.
std::optional<at::ScalarType> parse_dtype(const std::string& text);

/// "float32", "bfloat16", "float16", … (as ModelInfo::dtype and config.json spell them).
std::string dtype_name(at::ScalarType type);

}  // namespace moeroute::detail
