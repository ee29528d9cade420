// grace's own log: every restart and state change, to stderr and to
// `<log_dir>/grace.log`, with UTC timestamps (spdlog stays in logging.cpp and
// the actors' .cpp files).
#pragma once

#include <string>

namespace grace::runtime {

/// Sends spdlog's default logger to stderr and `<log_dir>/grace.log`.
/// Returns an error message if the file cannot be opened ("" on success);
/// stderr logging works either way.
std::string setup_logging(const std::string& log_dir);

/// Writes out what is still queued and stops the logging thread.
void shutdown_logging();

} // namespace grace::runtime
