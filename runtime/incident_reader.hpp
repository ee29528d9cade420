// Reading incidents.jsonl back, fast and in constant memory: the fields of
// one line that a report needs (a digest, read without building the whole
// JSON document, and stopping early on `open` lines), and a scan for the
// incidents a previous run left open. Torn or garbage lines are counted,
// never fatal.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/incident.hpp"

namespace grace::runtime {

/// The fields of one incident line that the report uses.
struct incident_digest {
  std::string id;
  std::string component;
  std::string failure_mode;
  std::string severity;
  incident_status status = incident_status::open;
  std::int64_t detected_us = 0;
  std::optional<double> mttr_seconds;
  std::optional<double> ttd_seconds;
};

/// Reads the digest of `line`. For an `open` line only the fields up to
/// `detected_at` are guaranteed. Returns false for a line that is not an
/// incident (torn, garbage, keys missing).
bool read_digest(std::string_view line, incident_digest& out);

/// What scan_log() saw.
struct scan_counts {
  std::uint64_t lines = 0;
  std::uint64_t open_lines = 0;
  std::uint64_t closed_lines = 0;
  std::uint64_t bad_lines = 0;
  bool torn_tail = false; // the file does not end with a newline

  void merge(const scan_counts& other);
};

/// Calls a sink for every closing line of the log at `path` whose
/// `detected_at` is at or after `since_us`, from up to `parts` threads at
/// once, each with its own part of the file (at least `min_part_bytes`
/// long); `make_sink` gives each part its own callback, so no sink is shared
/// between threads. Throws std::system_error if the file cannot be read.
using digest_sink = std::function<void(const incident_digest&)>;
std::vector<scan_counts>
scan_log(const std::string& path, std::int64_t since_us, int parts,
         const std::function<digest_sink(int part)>& make_sink,
         std::int64_t min_part_bytes = 4 << 20);

/// Incidents still open at the end of the log at `path`, in the order they
/// opened, plus what was seen on the way. A missing file has none.
struct open_incidents {
  std::vector<incident> open;
  scan_counts counts;
};
open_incidents find_open(const std::string& path);

} // namespace grace::runtime
