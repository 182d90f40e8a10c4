// What a loader knows about a native model besides its config and weights (no LibTorch).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "moeroute/tokenizer.h"

namespace moeroute::detail {

struct NativeModelMeta {
  std::string model_id;                        ///< written to traces (directory or builtin:NAME)
  std::string what;                            ///< how errors name the model
  std::shared_ptr<const Tokenizer> tokenizer;  ///< may be null
  std::vector<int64_t> stop_token_ids;         ///< default stop tokens
  std::string chat_template = "raw";           ///< the model's default chat template (ModelInfo)
  std::string chat_template_dir;               ///< where its tokenizer files are ("" = none)
};

}  // namespace moeroute::detail
