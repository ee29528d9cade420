// What happened during one `grace run`, per component, as the incidents the
// tracker closed record it: failures by mode, restarts ordered, incidents
// resolved and their MTTR, and those closed otherwise (held, failed,
// escalated, abandoned). The tracker adds each incident it closes - it is
// the one record - and main prints the table when grace stops.
// Thread-safe; CAF-free.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <ostream>
#include <string>
#include <vector>

#include "runtime/incident.hpp"

namespace grace::actors {

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
    std::vector<double> mttr_ms;                    // resolved incidents
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
