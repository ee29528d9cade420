// Safe-hold snapshots (SPEC.md section 6): what a component looked like when
// Grace acted on it or held it - its config, state, pid, last exit, probe
// history and the last lines of its stdout/stderr - as one JSON file under
// `<log_dir>/snapshots/`, referenced from the incident.
#pragma once

#include <cstdint>
#include <string>

#include "config/schema.hpp"

namespace grace::runtime {

/// What the tracker knows about a component when it snapshots it.
struct snapshot_input {
  std::string incident_id;
  std::string component;
  std::string state; // held, restarting, ...
  std::int32_t pid = 0;
  std::int32_t exit_code = 0;
  std::int32_t exit_signal = 0;
  std::string reason;      // of the last failure
  std::string status_text; // its last sd_notify STATUS=, if any
  std::int64_t at_us = 0;  // wall clock
  const config::child_spec* child = nullptr;           // a process, or
  const config::supervisor_spec* supervisor = nullptr; // a supervisor
  std::string stdout_file; // the child's captured output, if any
  std::string stderr_file;
};

/// The lines kept from each output stream.
inline constexpr std::size_t snapshot_tail_lines = 100;

/// Returns the snapshot as JSON text. Reads the output files' tails.
std::string make_snapshot(const snapshot_input& in);

/// Returns the last `n` lines of the file at `path` (fewer if it has
/// fewer; none if it cannot be read). Reads at most its last 256 KiB.
std::vector<std::string> tail_lines(const std::string& path, std::size_t n);

} // namespace grace::runtime
