// What `grace run` can carry out today. The loader validates the whole
// schema, but a key whose behaviour does not exist yet must not be silently
// ignored: `grace run` refuses a config that uses one, naming it.
#pragma once

#include <string>
#include <vector>

#include "config/error.hpp"
#include "config/schema.hpp"

namespace grace::config {

/// Returns one error per use of a key `grace run` does not support yet, or
/// cannot carry out on this host: `limits.memory` where `no_memory` says
/// why components' cgroups have no memory controller ("" if they have it).
std::vector<config_error> unsupported_for_run(const grace_config& cfg,
                                              const std::string& no_memory);

} // namespace grace::config
