// Positions and errors of the config loader. Every problem found in a config
// file becomes one config_error, rendered compiler-style as
// `FILE:LINE:COL: error: MESSAGE`; load_config() throws a config_exception that
// carries all of them, so a user fixes a file in one pass, not one per run.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace grace::config {

/// A place in a config file. Line and column are 1-based; 0 means unknown.
struct source_pos {
  std::string file;
  int line = 0;
  int column = 0;

  friend bool operator==(const source_pos&, const source_pos&) = default;
};

/// One problem in a config file: where, and what (lower case, no period).
struct config_error {
  source_pos where;
  std::string message;

  friend bool operator==(const config_error&, const config_error&) = default;
};

/// Renders `grace.yaml:4:18: error: intensity: must be >= 0 (got -1)`.
std::string to_string(const source_pos& x);

/// Renders `FILE:LINE:COL: error: MESSAGE`.
std::string to_string(const config_error& x);

/// Thrown by load_config(); errors() holds every problem found, not just the
/// first.
class config_exception : public std::runtime_error {
public:
  explicit config_exception(std::vector<config_error> errors);

  /// Returns every problem found, in file order.
  const std::vector<config_error>& errors() const noexcept { return errors_; }

private:
  std::vector<config_error> errors_;
};

} // namespace grace::config
