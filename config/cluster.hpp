// A config's identity among the nodes of a cluster (SPEC.md section 9):
// its digest, which every node compares at join, and which node this one
// is (`cluster.node`, or `--node NAME`).
#pragma once

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

} // namespace grace::config
