// Helpers shared by the config tests.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "config/loader.hpp"

namespace grace::test {

/// Loads `yaml` as the file `t.yaml` in directory `/etc/grace`.
inline config::load_result load(std::string_view yaml) {
  return config::load_text(yaml, "t.yaml", "/etc/grace");
}

/// Loads `yaml` (as load()) and returns the config; throws with the first
/// error if it is invalid.
inline config::grace_config config_of(std::string_view yaml) {
  auto r = load(yaml);
  if (!r.config)
    throw std::runtime_error(to_string(r.errors.front()));
  return *r.config;
}

/// Returns every error as `t.yaml:L:C: error: MSG`.
inline std::vector<std::string> errors_of(std::string_view yaml) {
  std::vector<std::string> result;
  for (auto& e : load(yaml).errors)
    result.push_back(to_string(e));
  return result;
}

} // namespace grace::test
