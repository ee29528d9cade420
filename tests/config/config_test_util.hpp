// Helpers shared by the config tests.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/loader.hpp"

namespace grace::test {

/// Loads `yaml` as the file `t.yaml` in directory `/etc/grace`.
inline config::load_result load(std::string_view yaml) {
  return config::load_text(yaml, "t.yaml", "/etc/grace");
}

/// Returns every error as `t.yaml:L:C: error: MSG`.
inline std::vector<std::string> errors_of(std::string_view yaml) {
  std::vector<std::string> result;
  for (auto& e : load(yaml).errors)
    result.push_back(to_string(e));
  return result;
}

} // namespace grace::test
