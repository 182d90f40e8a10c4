// HubOptions from environment variables, with the lookup injectable so tests need not touch
// the process environment.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "moeroute/hub.h"

namespace moeroute::detail {

/// The value of an environment variable, or nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const char* name)>;

/// hub_options_from_environment() over `env`.
HubOptions hub_options_from(const EnvLookup& env);

/// Python's os.path.expandvars(os.path.expanduser(path)): a leading "~" becomes $HOME, and
/// $NAME / ${NAME} become their values (unset ones stay as written).
std::string expand_path(const std::string& path, const EnvLookup& env);

}  // namespace moeroute::detail
