// What happened during one `grace run`, per component, as the incidents the
// tracker closed record it: failures by mode, restarts ordered, incidents
// resolved and their MTTR, and those closed otherwise (held, failed,
// escalated, abandoned). The tracker adds each incident it closes - it is
// the one record - and main prints the table when grace stops.
// Thread-safe; CAF-free.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <ostream>
#include <string>
#include <vector>

#include "runtime/incident.hpp"

namespace grace::actors {

/// The MTTRs of one component's resolved incidents, for their median: each
/// one kept while there are at most 256, then counted in buckets 1% wide
/// (on a log scale), so that weeks of crash loops hold a few hundred
/// counters instead of a number per incident. From the buckets the median
/// is within 0.5% of the exact one. (runtime::latency_stats, which `grace
/// incidents` uses, keeps 1,024 buckets an octave in a map: right for one
/// report of a log, tens of KB for each component of a daemon that runs
/// for months.)
class mttr_summary {
public:
  void add(double ms);

  /// How many were added.
  std::size_t count() const noexcept { return count_; }

  /// The median (the lower of the middle two), 0 if none was added.
  double p50() const;

  /// How many numbers it holds (values and buckets): its memory.
  std::size_t held() const noexcept { return exact_.size() + buckets_.size(); }

private:
  static constexpr std::size_t exact_max = 256;
  std::vector<double> exact_;
  // (bucket, count), by bucket (run_report.cpp: bucket_of).
  std::vector<std::pair<std::int32_t, std::uint32_t>> buckets_;
  std::size_t count_ = 0;

  void count_in_bucket(double ms);
};

/// The end-of-run table.
class run_report {
public:
  /// Counts an incident the tracker closed.
  void add(const runtime::incident& closed);

  /// Per-component totals.
  struct entry {
    std::map<std::string, int> failures; // by mode
    int restarts = 0;                    // remediation attempts
    int incidents = 0;
    std::map<runtime::incident_status, int> closed; // by status
    mttr_summary mttr;                              // resolved incidents
  };

  /// Returns a copy of every entry, by path.
  std::map<std::string, entry> entries() const;

  /// Prints the table people read at the end of a run.
  void print(std::ostream& out, std::chrono::milliseconds ran_for) const;

private:
  mutable std::mutex mutex_;
  std::map<std::string, entry> entries_;
};

} // namespace grace::actors
