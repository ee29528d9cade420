// The coordinator actor (SPEC.md section 5). A failure arrives from a
// monitor (a probe), from a process actor (a held port before a start), or
// from a supervisor (an exit whose mode the child's `on:` maps to a
// playbook). The coordinator classifies it and opens the incident at the
// tracker (one per component: while it heals, further failures are counted
// on it), picks the playbook (`on:`, else the mode's default), snapshots
// the component, and spawns a playbook actor (playbook.hpp) for it: at most
// one per component at a time. The playbook ends with a verification; only
// that resolves the incident. When it fails, the component's monitors are
// re-armed and a start it held back is given up, so the supervisor's rules
// (backoff, intensity, escalation) take it from there.
//
// Topology (`depends_on`): when a component others depend on fails (its
// supervisor says so, or a probe of it), each of its dependents gets a
// `dependency_failed` incident caused by the dependency's, and is held
// back by its supervisor (a failure of it meanwhile is recorded on that
// incident, not healed on its own). Once the dependency is ready again the
// dependents are restarted once each, in dependency order, and verified
// (restart_dependents).
//
//   idle --failure--> healing (a playbook actor) --verified--> idle
//                        |                                 (resolved)
//                        +--failed / escalated / held--------> idle
#pragma once

#include <chrono>
#include <memory>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/clock.hpp"
#include "config/schema.hpp"
#include "config/topology.hpp"

namespace grace::runtime {
class io_loop;
} // namespace grace::runtime

namespace grace::actors {

/// What the coordinator needs.
struct coordinator_options {
  caf::actor tracker; // may be null: nothing recorded
  /// The whole config: `on:` maps and user playbooks. May be null: the
  /// built-in playbooks only.
  std::shared_ptr<const config::grace_config> config;
  /// Where exec and notify steps run.
  runtime::io_loop* io = nullptr;
  /// Who depends on whom; may be null (no dependencies).
  std::shared_ptr<const config::topology> topology;
  /// How long the verification of a built-in playbook may take (SPEC:
  /// verify.within, 10 s; user playbooks say it in their `verify` step).
  std::chrono::milliseconds verify_within{10'000};
  /// How long a restart through the supervisor may take (backoff, slow
  /// stops and starts included) before the incident fails.
  std::chrono::milliseconds restart_within{120'000};
  /// Its time: the machine's, or a test's (clock.hpp).
  std::shared_ptr<const clock> time = machine_clock();
};

/// Spawns the coordinator.
caf::actor spawn_coordinator(caf::actor_system& sys, coordinator_options opts);

} // namespace grace::actors
