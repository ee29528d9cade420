// A YAML document as a plain tree of nodes that remember where they were
// written. The loader walks this tree instead of yaml-cpp's, so that every
// node (keys included) has a 1-based line and column for error messages,
// duplicate keys are visible, and aliases stay shared (an alias bomb costs its
// size in the file, not its expansion). Only document.cpp includes yaml-cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/error.hpp"

namespace grace::config {

/// Index of a node in yaml_document::nodes.
using node_id = std::uint32_t;

/// One YAML node.
struct yaml_node {
  enum class kind : std::uint8_t { null, scalar, sequence, map };
  kind type = kind::null;
  bool quoted = false; // scalar written in quotes (or with an explicit tag)
  bool alias = false;  // reached through `*name` at least once
  int line = 0;        // 1-based
  int column = 0;      // 1-based
  std::string value;   // scalar text
  /// Sequence: the items. Map: key, value, key, value, ...
  std::vector<node_id> items;
};

/// A parsed YAML file.
struct yaml_document {
  std::string file;
  std::vector<yaml_node> nodes;
  std::optional<node_id> root; // none for an empty document
};

/// The largest config file Grace reads.
inline constexpr std::size_t max_config_bytes = 64 * 1024 * 1024;

/// Parses YAML `text`; problems (invalid UTF-8, NUL bytes, tabs used for
/// indentation, syntax errors, nesting too deep, several documents) are
/// appended to `errors`. Never throws on bad input.
yaml_document parse_yaml(std::string_view text, const std::string& file,
                         std::vector<config_error>& errors);

} // namespace grace::config
