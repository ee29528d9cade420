// What changed between two validated trees (for `grace reload`): which
// components were added or removed, which processes changed (they restart
// with their new spec) and which supervisors changed their own settings.
// Where things were written does not count: editing one line moves every
// line below it.
#pragma once

#include <string>
#include <vector>

#include "config/schema.hpp"

namespace grace::config {

struct tree_diff {
  /// Only in the new tree (a whole subtree counts once, by its root).
  std::vector<std::string> added;
  /// Only in the old tree (likewise).
  std::vector<std::string> removed;
  /// Processes in both whose spec differs.
  std::vector<std::string> changed;
  /// Supervisors in both whose own settings differ (strategy, intensity,
  /// period, on_exhausted, restart, shutdown, depends_on).
  std::vector<std::string> retuned;

  bool empty() const noexcept {
    return added.empty() && removed.empty() && changed.empty()
           && retuned.empty();
  }
};

/// Compares `before` with `after` (two roots), component by component:
/// each supervisor's own entries in its children's order, then those of its
/// nested supervisors.
tree_diff diff_trees(const supervisor_spec& before,
                     const supervisor_spec& after);

/// Whether two processes are specified alike, positions aside.
bool same_child(const child_spec& a, const child_spec& b);

} // namespace grace::config
