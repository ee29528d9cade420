// The tracker actor owns the incidents of one grace node (DESIGN.md): it
// opens one when a component fails (written at once with `status: open`),
// counts further failures of that component on it, records what was done,
// and closes it - `resolved` with its MTTR when the component is ready
// again, or failed / escalated / held / abandoned - writing the complete
// line. Supervisors tell it what happens with incident_note messages and
// never wait for it; the audit log's own thread does the writing.
//
//   (none) --failed--> open --failed--> open (failures + 1)
//                       |  --action--> open (action recorded)
//                       |  --recovered--> resolved
//                       +--closed--> failed | escalated | held | abandoned
#pragma once

#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/clock.hpp"
#include "config/schema.hpp"

namespace grace::runtime {
class metrics;
class audit_log;
} // namespace grace::runtime

namespace grace::actors {

class run_report;

/// What the tracker needs.
struct tracker_options {
  runtime::audit_log* log = nullptr; // outlives the tracker
  std::string log_dir;               // snapshots go under it
  /// The tree, for severity overrides and snapshots (may be null).
  std::shared_ptr<const config::supervisor_spec> root;
  /// Told every line written (`grace events`); may be null.
  caf::actor events;
  /// Counts closed incidents and MTTR; may be null.
  std::shared_ptr<runtime::metrics> metrics;
  /// The end-of-run table: every closed incident; may be null.
  std::shared_ptr<run_report> report;
  /// Its time: the machine's, or a test's.
  std::shared_ptr<const clock> time = machine_clock();
  /// This node's name in a cluster (incident ids end with it); "" alone.
  std::string node{};
};

/// Spawns the tracker. A stop_atom request closes every incident still
/// open as `abandoned` and answers once their lines are queued. A
/// status_atom request answers each component's latest failure (a
/// status_list of path, last_failure and failed_ns), whatever noticed it.
caf::actor spawn_tracker(caf::actor_system& sys, tracker_options opts);

} // namespace grace::actors
