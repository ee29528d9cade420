// What every actor of one grace node shares: the I/O thread and the
// settings that are not part of any one component's spec.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include <caf/actor.hpp>

#include "actors/clock.hpp"
#include "actors/restart_policy.hpp"
#include "config/schema.hpp"
#include "config/topology.hpp"
#include "runtime/metrics.hpp"

namespace grace::runtime {
class containment;
class io_loop;
} // namespace grace::runtime

namespace grace::actors {

/// Shared, immutable once the node runs.
struct node_context {
  runtime::io_loop* io = nullptr;
  std::string log_dir;
  config::backoff_spec default_backoff;
  /// Child output files are rotated past this size, keeping `output_keep`.
  std::uint64_t output_max_bytes = 16 * 1024 * 1024;
  int output_keep = 3;
  /// How often a `ready: {tcp}` rule tries to connect.
  std::chrono::milliseconds ready_poll{10};
  /// Owns the incidents (tracker.hpp); none in tests that do not need it.
  caf::actor tracker;
  /// Heals what probes find (coordinator.hpp); may be none likewise.
  caf::actor coordinator;
  /// Hears of state changes for `grace events` (control.hpp); may be none.
  caf::actor events;
  /// Prometheus metrics (`metrics:`); none unless configured.
  std::shared_ptr<runtime::metrics> metrics;
  /// The node's restart budget (`restart_budget`); none: no limit.
  std::shared_ptr<restart_budget> budget;
  /// Who depends on whom (`depends_on`); none in tests that do not need it.
  std::shared_ptr<const config::topology> topology;
  /// In a cluster: the components that wait for a dependency on another
  /// node before they first start (config::cluster_layout::gated).
  std::set<std::string> gated;
  /// The cgroups of this instance (runtime/cgroup.hpp); none: process
  /// groups only.
  std::shared_ptr<runtime::containment> containment;
  /// Its time: the machine's, or a test's (actors/clock.hpp).
  std::shared_ptr<const clock> time = machine_clock();
};

using node_context_ptr = std::shared_ptr<const node_context>;

} // namespace grace::actors
