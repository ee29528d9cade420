// The evidence report of `grace incidents`: totals, success rate, MTTR and
// time-to-detect distributions per failure mode and per component, the
// slowest incidents and an MTTR histogram, for people (a table) and for
// scripts (JSON). Everything here is mergeable and of bounded size, so a
// log of any length is summarised in constant memory, in parallel parts.
#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "runtime/incident_reader.hpp"

namespace grace::runtime {

/// A distribution of durations in bounded memory: values are kept in
/// microsecond buckets, exact below 2048 us and within 0.1 % above.
class latency_stats {
public:
  /// Adds a duration in seconds (negative values count as zero).
  void add(double seconds);

  /// Adds everything `other` holds.
  void merge(const latency_stats& other);

  std::uint64_t count() const noexcept { return count_; }
  double min() const noexcept;
  double max() const noexcept;
  double mean() const noexcept;

  /// Returns the nearest-rank percentile `p` (0 < p <= 100), in seconds:
  /// the smallest value with at least p % of the values at or below it.
  double percentile(double p) const;

  /// Counts per bucket (lower bound in microseconds).
  const std::map<std::uint64_t, std::uint64_t>& buckets() const noexcept {
    return buckets_;
  }

private:
  std::map<std::uint64_t, std::uint64_t> buckets_;
  std::uint64_t count_ = 0;
  double min_ = 0;
  double max_ = 0;
  double sum_ = 0;
};

/// Incidents of one group (all, one failure mode, one component).
struct group_stats {
  std::uint64_t closed = 0;
  std::map<incident_status, std::uint64_t> by_status;
  latency_stats mttr; // resolved incidents
  latency_stats ttd;  // where the failure time is known

  std::uint64_t resolved() const;
  /// Resolved / closed, 0 when nothing closed.
  double success_rate() const;
  void add(const incident_digest& x);
  void merge(const group_stats& other);
};

/// One of the slowest recoveries.
struct slow_incident {
  std::string id;
  std::string component;
  std::string failure_mode;
  double mttr_seconds = 0;
};

/// Everything `grace incidents` reports.
class incident_summary {
public:
  static constexpr std::size_t slowest_kept = 5;

  /// Counts one closed incident.
  void add(const incident_digest& x);

  /// Adds another part's summary.
  void merge(const incident_summary& other);

  group_stats total;
  std::map<std::string, group_stats> by_mode;
  std::map<std::string, group_stats> by_component;
  std::vector<slow_incident> slowest; // slowest first
  std::int64_t first_us = 0;          // detected_at range of what was read
  std::int64_t last_us = 0;
  scan_counts counts; // lines read, open and bad lines

  /// Incidents still open at the end of the log.
  std::uint64_t open_now() const;

private:
  void keep_if_slow(slow_incident x);
};

/// Reads the log at `path` (detected at or after `since_us`) with up to
/// `parts` threads (parts of at least `min_part_bytes`). Throws
/// std::system_error if it cannot be read.
incident_summary summarize(const std::string& path, std::int64_t since_us,
                           int parts = 2,
                           std::int64_t min_part_bytes = 4 << 20);

/// Prints the report people read.
void print_report(std::ostream& out, const incident_summary& s,
                  const std::string& source, bool color);

/// Returns the same figures as JSON, for scripts.
std::string report_json(const incident_summary& s, const std::string& source);

/// Writes to `err` (stderr) a warning for lines of `source` that could not
/// be read, the torn last line of a power loss among them (SPEC.md section
/// 6: skipped with a warning, never fatal); nothing if all were read.
void warn_unreadable(std::ostream& err, const incident_summary& s,
                     const std::string& source);

} // namespace grace::runtime
