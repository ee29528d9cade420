// What happened during one `grace run`, per component: failures by mode,
// restarts, recoveries (ready again after a failure, with the time it took)
// and supervisors that gave up or held. Filled by the supervisors, printed
// when grace stops. Thread-safe; CAF-free.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <ostream>
#include <string>
#include <vector>

namespace grace::actors {

/// The evidence of one run.
class run_ledger {
public:
  /// A component failed (observed at steady `at_ns`).
  void failure(const std::string& path, const std::string& mode,
               const std::string& detail, std::int64_t at_ns);

  /// A supervisor restarted the component.
  void restart(const std::string& path);

  /// The component is ready again (steady `at_ns`): closes its open
  /// failure, if any, and records the time to recovery.
  void ready(const std::string& path, std::int64_t at_ns);

  /// A supervisor gave up (`held`: it holds its subtree stopped).
  void gave_up(const std::string& path, bool held);

  /// Per-component totals.
  struct entry {
    std::map<std::string, int> failures; // by mode
    int restarts = 0;
    int recovered = 0;
    int gave_up = 0;
    bool held = false;
    std::string last_failure;
    std::vector<double> recovery_ms;
    std::int64_t open_since = 0; // a failure not yet recovered from
  };

  /// Returns a copy of every entry, by path.
  std::map<std::string, entry> entries() const;

  /// Prints the report people read at the end of a run.
  void print(std::ostream& out, std::chrono::milliseconds ran_for) const;

private:
  mutable std::mutex mutex_;
  std::map<std::string, entry> entries_;
};

} // namespace grace::actors
