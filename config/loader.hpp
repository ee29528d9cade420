// Loading a config file: YAML text -> validated grace_config. Every problem in
// the file is reported (not just the first), each with the position of the
// offending node. Bad input (a directory, binary data, invalid UTF-8, syntax
// errors, alias bombs, deep nesting, huge files) gives errors, never a crash
// or a hang.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/error.hpp"
#include "config/schema.hpp"

namespace grace::config {

/// The outcome of loading a config: the config if and only if no errors.
struct load_result {
  std::optional<grace_config> config;
  std::vector<config_error> errors; // sorted by position
};

/// Reads and validates the file at `path`. Positions name the file as given.
load_result load_file(const std::string& path);

/// Validates config text; relative paths resolve against `base_dir`.
load_result load_text(std::string_view text, const std::string& file,
                      const std::string& base_dir);

/// Reads and validates the file at `path`; throws config_exception.
grace_config load_config(const std::string& path);

} // namespace grace::config
