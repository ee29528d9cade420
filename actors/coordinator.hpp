// The coordinator actor, basic path (SPEC.md section 5): a probe's failure
// arrives from its monitor; the coordinator opens the incident at the
// tracker (one per component: while it heals, further failures are counted
// on it), snapshots the component, restarts it through its supervisor (so
// the strategy and the restart intensity apply), and verifies: the
// component ready and every one of its probes passing once, freshly,
// within the deadline. Only then is the incident resolved; otherwise it
// fails, and the supervisor's rules (intensity, escalation) take it from
// there when the probe raises again.
//
//   idle --failure--> restarting --restarted--> verifying --passed--> idle
//                        |                        |                (resolved)
//                        +--------gave up / timed out / failed-------> idle
//                                                                   (failed)
#pragma once

#include <chrono>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

namespace grace::actors {

/// What the coordinator needs.
struct coordinator_options {
  caf::actor tracker; // may be null: nothing recorded
  /// How long the verification may take (SPEC: verify.within, 10 s).
  std::chrono::milliseconds verify_within{10'000};
  /// How long a restart through the supervisor may take (backoff, slow
  /// stops and starts included) before the incident fails.
  std::chrono::milliseconds restart_within{120'000};
};

/// Spawns the coordinator.
caf::actor spawn_coordinator(caf::actor_system& sys, coordinator_options opts);

} // namespace grace::actors
