// The playbook actor (SPEC.md section 5): the coordinator spawns one per
// incident it heals. It runs the plan's steps one after the other, each
// within its timeout and each recorded as an action on the incident; the
// last step is a verification, and only its success resolves the incident.
// A failed attempt is retried up to `max_attempts`; then `on_failure`
// runs: another playbook, `escalate` (the supervisor gives up as if its
// restart intensity were exceeded) or `safe_hold` (stopped and held until
// started again). Without `on_failure` the incident fails.
//
//   step 1 .. step n (verify) --ok--> resolved
//      |  a step failed
//      +--> attempt < max_attempts: step 1 again
//      +--> on_failure: that playbook | escalate | safe_hold
//      +--> failed
//
// When it is done it tells the coordinator (done_atom, path, run id,
// outcome: an incident_status, resolved, failed, held or escalated; why
// not resolved) and quits.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "actors/clock.hpp"
#include "actors/failure.hpp"
#include "actors/node_context.hpp"
#include "playbooks/plan.hpp"

namespace grace::actors {

/// One healing to carry out.
struct playbook_job {
  std::uint64_t id = 0;                          // the coordinator's run id
  std::string path;                              // the component
  component_failure what;                        // what it heals
  instance_state state = instance_state::exited; // the component then
  playbooks::plan plan;
  caf::actor child;                                    // its process actor
  caf::actor supervisor;                               // its supervisor
  caf::actor tracker;                                  // may be null
  std::shared_ptr<const clock> time = machine_clock(); // the node's
  /// For on_failure playbooks by name; may be null (built-ins only).
  std::shared_ptr<const config::grace_config> config;
  runtime::io_loop* io = nullptr; // exec and notify steps run there
};

/// Spawns the playbook actor for `job`, monitored by `coordinator`, to
/// which it reports (done_atom, path, id, outcome, why not).
caf::actor spawn_playbook(caf::event_based_actor* coordinator,
                          playbook_job job);

} // namespace grace::actors
