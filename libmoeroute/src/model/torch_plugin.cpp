// Loading the LibTorch backends on first use. The torch half of moeroute is a shared library
// (libmoeroute_torch.so) that registers its backends through one C entry point; the CLI links
// only the core, so commands that run no model never map LibTorch (docs/design.md, "Start-up").
// A program that links the torch library itself finds it already loaded.
#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

#include <fmt/format.h>

#include "moeroute/error.h"
#include "moeroute/model_registry.h"

namespace moeroute {

namespace {

#if MOEROUTE_WITH_TORCH_PLUGIN
constexpr const char* kPluginName = "libmoeroute_torch.so";
constexpr const char* kEntryPoint = "moeroute_register_torch_backends";
using RegisterFn = void (*)(ModelRegistry*);

std::string last_dl_error() {
  const char* e = ::dlerror();
  return e ? e : "unknown error";
}

// The plugin sits beside the library that holds this code (both in lib/, or in the build tree).
std::string plugin_beside_core() {
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&ensure_model_backends), &info) == 0 || info.dli_fname == nullptr) return {};
  std::string dir = info.dli_fname;
  const auto slash = dir.rfind('/');
  return slash == std::string::npos ? std::string(kPluginName) : dir.substr(0, slash + 1) + kPluginName;
}

void load_backends() {
  void* handle = ::dlopen(kPluginName, RTLD_NOW | RTLD_NOLOAD);  // linked into this program already?
  std::string tried;
  const char* env = std::getenv("MOEROUTE_TORCH_PLUGIN");
  for (const std::string& candidate : {std::string(env ? env : ""), plugin_beside_core(), std::string(kPluginName)}) {
    if (handle || candidate.empty()) continue;
    handle = ::dlopen(candidate.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (!handle) tried += fmt::format("\n  {}: {}", candidate, last_dl_error());
  }
  if (!handle)
    throw UnsupportedError(fmt::format("cannot load moeroute's LibTorch backends ({}), so no model can run; tried:{}"
                                       "\n(set MOEROUTE_TORCH_PLUGIN to the library's path)",
                                       kPluginName, tried));
  auto* fn = reinterpret_cast<RegisterFn>(::dlsym(handle, kEntryPoint));
  if (!fn) throw UnsupportedError(fmt::format("{}: no entry point {}: {}", kPluginName, kEntryPoint, last_dl_error()));
  fn(&ModelRegistry::instance());
}
#else
void load_backends() {
  throw UnsupportedError("this moeroute was built without LibTorch (MOEROUTE_WITH_TORCH=OFF): models cannot run; "
                         "commands that read traces (diff, tokenize, …) work");
}
#endif

}  // namespace

void ensure_model_backends() {
  static std::once_flag once;
  static std::string failure;
  std::call_once(once, [] {
    try {
      load_backends();
    } catch (const Error& e) {
      failure = e.what();
    }
  });
  if (!failure.empty()) throw UnsupportedError(failure);
}

}  // namespace moeroute
