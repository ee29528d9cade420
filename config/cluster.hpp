// A config's identity among the nodes of a cluster (SPEC.md section 9):
// its digest, which every node compares at join, and which node this one
// is (`cluster.node`, or `--node NAME`).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/error.hpp"
#include "config/schema.hpp"

namespace grace::config {

/// The SHA-256 of `bytes`, in lowercase hex (64 characters).
std::string digest(std::string_view bytes);

/// Names this node `name` (`--node`; empty: keep `cluster.node`), whose
/// log_dir is then `<log_dir>/<node>`, and returns what is wrong: a name
/// without a cluster, a name not among its nodes, or a cluster whose node
/// is named nowhere.
std::vector<config_error> choose_node(grace_config& cfg,
                                      const std::string& name);

/// Where the components of a cluster's tree run, and which dependencies
/// cross from one node to another: a `depends_on` that names a component
/// of a placed unit from outside that unit (SPEC.md section 9).
struct cluster_layout {
  /// Each component's placed unit: the nearest of itself and its
  /// supervisors with `nodes:`; "" if none (it runs on every node).
  std::map<std::string, std::string> unit;
  /// The dependencies that something outside their unit depends on, each
  /// with its unit: their readiness and failures are seen across the
  /// cluster.
  std::map<std::string, std::string> shared;
  /// The components with such a dependency (by their own `depends_on`),
  /// each with those dependencies: they start once every one of them is
  /// ready on some node.
  std::map<std::string, std::vector<std::string>> gated;
};

/// The layout of `cfg`'s tree (empty without `cluster:`).
cluster_layout layout_of(const grace_config& cfg);

} // namespace grace::config
