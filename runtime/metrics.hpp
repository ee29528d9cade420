// Prometheus metrics (SPEC.md section 7) on the config's `metrics:`
// endpoint, with prometheus-cpp (its civetweb server runs its own
// threads): grace_component_up, grace_restarts_total,
// grace_incidents_total{failure_mode,severity,status} (counted as each
// incident closes), grace_mttr_seconds and grace_probe_duration_seconds
// (histograms). Every method is thread-safe and cheap (a map lookup and an
// atomic add); prometheus-cpp stays out of this header.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace grace::runtime {

class metrics {
public:
  /// Serves /metrics on host:port, every metric labelled with `node` in a
  /// cluster (none: a single node). Returns null and sets `error` if it
  /// cannot listen there.
  static std::unique_ptr<metrics> open(const std::string& host,
                                       std::uint16_t port, std::string* error,
                                       const std::string& node = {});
  ~metrics();

  metrics(const metrics&) = delete;
  metrics& operator=(const metrics&) = delete;

  /// The component is ready (true) or not (false).
  void component_up(const std::string& path, bool up);
  /// The component was restarted once more.
  void restarted(const std::string& path);
  /// An incident closed with `status`; `mttr` >= 0 for resolved ones.
  void incident_closed(const std::string& mode, const std::string& severity,
                       const std::string& status, double mttr_seconds);
  /// A check of `probe` of component `path` took `seconds`.
  void probe_checked(const std::string& path, const std::string& probe,
                     double seconds);

  struct impl;

private:
  metrics();
  std::unique_ptr<impl> impl_;
};

} // namespace grace::runtime
