#include "actors/run_ledger.hpp"

#include <algorithm>
#include <cstdio>

namespace grace::actors {

void run_ledger::failure(const std::string& path, const std::string& mode,
                         const std::string& detail, std::int64_t at_ns) {
  std::lock_guard<std::mutex> guard{mutex_};
  auto& e = entries_[path];
  ++e.failures[mode.empty() ? std::string{"failed"} : mode];
  e.last_failure = detail;
  if (e.open_since == 0)
    e.open_since = at_ns;
}

void run_ledger::restart(const std::string& path) {
  std::lock_guard<std::mutex> guard{mutex_};
  ++entries_[path].restarts;
}

void run_ledger::ready(const std::string& path, std::int64_t at_ns) {
  std::lock_guard<std::mutex> guard{mutex_};
  auto it = entries_.find(path);
  if (it == entries_.end() || it->second.open_since == 0)
    return;
  auto& e = it->second;
  ++e.recovered;
  e.recovery_ms.push_back(static_cast<double>(at_ns - e.open_since) / 1e6);
  e.open_since = 0;
}

void run_ledger::gave_up(const std::string& path, bool held) {
  std::lock_guard<std::mutex> guard{mutex_};
  auto& e = entries_[path];
  ++e.gave_up;
  e.held = e.held || held;
}

std::map<std::string, run_ledger::entry> run_ledger::entries() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return entries_;
}

void run_ledger::print(std::ostream& out,
                       std::chrono::milliseconds ran_for) const {
  auto all = entries();
  char line[512];
  std::snprintf(line, sizeof(line), "grace: what happened in %.1f s\n",
                static_cast<double>(ran_for.count()) / 1000.0);
  out << line;
  if (all.empty()) {
    out << "  nothing failed\n";
    return;
  }
  std::snprintf(line, sizeof(line), "  %-26s %-28s %8s %9s %12s\n", "component",
                "failures", "restarts", "recovered", "recovery p50");
  out << line;
  int failures = 0;
  int recovered = 0;
  for (auto& [path, e] : all) {
    std::string modes;
    int n = 0;
    for (auto& [mode, count] : e.failures) {
      modes += (modes.empty() ? "" : ", ") + std::to_string(count) + " " + mode;
      n += count;
    }
    if (e.gave_up)
      modes += std::string{modes.empty() ? "" : ", "}
               + (e.held ? "gave up (held)" : "gave up");
    failures += n;
    recovered += e.recovered;
    std::string p50 = "-";
    if (!e.recovery_ms.empty()) {
      auto xs = e.recovery_ms;
      std::sort(xs.begin(), xs.end());
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.2f ms", xs[(xs.size() - 1) / 2]);
      p50 = buf;
    }
    std::snprintf(line, sizeof(line), "  %-26s %-28s %8d %9d %12s\n",
                  path.c_str(), modes.c_str(), e.restarts, e.recovered,
                  p50.c_str());
    out << line;
  }
  std::snprintf(line, sizeof(line),
                "  %d failures, %d healed (restarted and ready again)\n",
                failures, recovered);
  out << line;
}

} // namespace grace::actors
