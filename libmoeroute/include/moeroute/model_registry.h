// Loading a model: one dispatcher (load_model) over one table of backends. Built-in demo models
// are found by name, Hugging Face checkpoint directories by their config.json's model_type (as
// CTranslate2's model_factory maps spec names to constructors) and TorchScript exports by file.
// The LibTorch backends register themselves from the torch plugin, which load_model loads on first
// use: commands that run no model never load LibTorch (docs/design.md, "Start-up").
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "moeroute/causal_lm.h"
#include "moeroute/chat_template.h"

namespace moeroute {

/// Makes a built-in model ("builtin:NAME").
using BuiltinFactory = std::function<std::unique_ptr<CausalLM>(const ModelOptions&)>;
/// Makes a model from a Hugging Face checkpoint directory whose config.json has a given model_type;
/// `model_id` is what traces call it (the directory as given, or the Hub id it was resolved from).
using CheckpointFactory = std::function<std::unique_ptr<CausalLM>(const std::filesystem::path& dir,
                                                                  const std::string& model_id, const ModelOptions&)>;
/// Makes a model from a file (a TorchScript export).
using FileFactory = std::function<std::unique_ptr<CausalLM>(const std::filesystem::path& file, const ModelOptions&)>;

/// The backends moeroute can load models with. Registration happens once, at start-up of the
/// torch plugin (or of a program that links its own backends); lookups are read-only after that.
class ModelRegistry {
 public:
  /// The process-wide registry.
  static ModelRegistry& instance();

  void add_builtin(std::string name, std::string description, BuiltinFactory factory);
  void add_architecture(std::string model_type, CheckpointFactory factory);
  void set_file_loader(std::string description, FileFactory factory);

  struct Builtin {
    std::string name, description;
    BuiltinFactory factory;
  };
  struct Architecture {
    std::string model_type;
    CheckpointFactory factory;
  };
  const std::vector<Builtin>& builtins() const { return builtins_; }
  const std::vector<Architecture>& architectures() const { return architectures_; }
  const FileFactory& file_loader() const { return file_loader_; }

 private:
  std::vector<Builtin> builtins_;
  std::vector<Architecture> architectures_;
  std::string file_loader_description_;
  FileFactory file_loader_;
};

/// Loads the LibTorch backends (the torch plugin) into the registry unless they are there already.
/// Throws UnsupportedError when this moeroute was built without LibTorch or the plugin cannot be
/// loaded (the message says which file was tried and why).
void ensure_model_backends();

/// Names of the built-in models, without the "builtin:" prefix ("tiny-moe"). Loads the backends.
std::vector<std::string> builtin_model_names();

/// Loads `spec`: "builtin:NAME", a Hugging Face checkpoint directory (config.json's model_type picks
/// the native family), a model file (TorchScript export, configured from its sidecar;
/// docs/export.md), or a Hub id "org/name[@revision]" that is no local path (found in the Hugging
/// Face cache, downloaded there when missing unless HF_HUB_OFFLINE: moeroute/hub.h). A relative
/// path is relative to the current directory. Throws InputError when nothing by that
/// name exists (naming what was expected) or the model is damaged, and UnsupportedError for a
/// model_type moeroute cannot run natively (pointing at the TorchScript route).
std::unique_ptr<CausalLM> load_model(const std::string& spec, const ModelOptions& options = {});

/// The chat template that wraps prompts for the model `info` describes: "" or "auto" = the
/// model's own (info.chat_template; "raw" when it has none); otherwise a built-in name or a
/// template file (resolve_chat_template). Throws InputError for an unknown name or file,
/// UnsupportedError naming the file when the model's own template is one no built-in reproduces.
ChatTemplate model_chat_template(const ModelInfo& info, std::string_view spec = {});

}  // namespace moeroute
