// The dependency graph of a tree (`depends_on`, SPEC.md section 5), pure:
// which components depend on which, directly or through others, and in
// which order they start. The coordinator uses it to correlate failures
// (a dependent's failure while its dependency is down is caused by the
// dependency's incident) and to restart dependents in dependency order once
// the dependency has recovered.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/schema.hpp"

namespace grace::config {

class topology {
public:
  topology() = default;
  explicit topology(const config::supervisor_spec& root);

  /// Returns whether anything depends on `path`.
  bool has_dependents(const std::string& path) const;

  /// Returns whether `path` (or a supervisor above it) depends on anything.
  bool is_dependent(const std::string& path) const;

  /// Returns what `path` and the supervisors above it depend on, directly.
  std::vector<std::string> dependencies(const std::string& path) const;

  /// Returns every component that depends on `path`, directly or through
  /// others, in start order (so a dependency comes before its dependents).
  /// Components inside a dependent supervisor are not listed: restarting the
  /// supervisor restarts them.
  std::vector<std::string> dependents(const std::string& path) const;

  /// Returns the start position of `path` (depth first, list order).
  std::size_t position(const std::string& path) const;

private:
  std::unordered_map<std::string, std::vector<std::string>> depends_on_;
  std::unordered_map<std::string, std::vector<std::string>> dependents_;
  std::unordered_map<std::string, std::string> parent_;
  std::unordered_map<std::string, std::vector<std::string>> children_;
  std::unordered_map<std::string, std::size_t> position_;
};

} // namespace grace::config
