#include "actors/run_report.hpp"

#include <algorithm>
#include <cstdio>

namespace grace::actors {

void run_report::add(const runtime::incident& closed) {
  if (closed.status == runtime::incident_status::open)
    return;
  std::lock_guard<std::mutex> guard{mutex_};
  auto& e = entries_[closed.component];
  e.failures[closed.failure_mode] += closed.failures;
  e.restarts += closed.attempts;
  ++e.incidents;
  ++e.closed[closed.status];
  if (closed.status == runtime::incident_status::resolved)
    e.mttr_ms.push_back(closed.mttr_seconds.value_or(0) * 1e3);
}

std::map<std::string, run_report::entry> run_report::entries() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return entries_;
}

namespace {

// "1 held, 1 abandoned": how its incidents closed, other than resolved.
std::string unhealed(const std::map<runtime::incident_status, int>& closed) {
  std::string out;
  for (auto& [status, n] : closed)
    if (status != runtime::incident_status::resolved)
      out += (out.empty() ? "" : ", ") + std::to_string(n) + " "
             + std::string{runtime::to_string(status)};
  return out.empty() ? "-" : out;
}

} // namespace

void run_report::print(std::ostream& out,
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
  std::snprintf(line, sizeof(line), "  %-26s %-30s %8s %8s %10s  %s\n",
                "component", "failures", "restarts", "resolved", "MTTR p50",
                "not resolved");
  out << line;
  int incidents = 0;
  int resolved = 0;
  for (auto& [path, e] : all) {
    std::string modes;
    for (auto& [mode, count] : e.failures)
      modes += (modes.empty() ? "" : ", ") + std::to_string(count) + " " + mode;
    auto healed = static_cast<int>(e.mttr_ms.size());
    incidents += e.incidents;
    resolved += healed;
    std::string p50 = "-";
    if (!e.mttr_ms.empty()) {
      auto xs = e.mttr_ms;
      std::sort(xs.begin(), xs.end());
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.2f ms", xs[(xs.size() - 1) / 2]);
      p50 = buf;
    }
    std::snprintf(line, sizeof(line), "  %-26s %-30s %8d %8d %10s  %s\n",
                  path.c_str(), modes.c_str(), e.restarts, healed, p50.c_str(),
                  unhealed(e.closed).c_str());
    out << line;
  }
  std::snprintf(line, sizeof(line),
                "  %d incidents, %d resolved (healed and verified)\n",
                incidents, resolved);
  out << line;
}

} // namespace grace::actors
