// Where a child's stdout and stderr go: `<log_dir>/<path>.out|.err`, opened
// for appending and handed to the child as its own descriptors, so a child
// that writes fast never waits for grace. Files are rotated by size before
// each start (`.1`, `.2`, ... oldest dropped).
#pragma once

#include <cstdint>
#include <string>

#include "runtime/unique_fd.hpp"

namespace grace::runtime {

/// Returns the log file name of component `path` (`root/db` -> `root.db`).
std::string log_name(const std::string& path);

/// Rotates `file` if it is at least `max_bytes` long, keeping `keep` old
/// copies; then opens it for appending (creating it and its directory).
/// Returns an empty fd (errno set) if it cannot be opened.
unique_fd open_output(const std::string& file, std::uint64_t max_bytes,
                      int keep);

} // namespace grace::runtime
