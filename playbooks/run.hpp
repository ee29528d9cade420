// A playbook under way, as pure decisions (the playbook actor, actors/
// playbook.cpp, carries the steps out): which step comes next, and what a
// failed step leads to - the plan again (attempt n of max_attempts), its
// `on_failure` playbook, escalation, or failure. No CAF, no clock.
//
//   step k ok --> step k+1 ... --> (no step left) held (safe_hold: a plan
//                                   without a verification ends held)
//   step k failed --> attempt < max: step 0, attempt + 1
//                 --> else on_failure: escalate | another playbook (attempt 1)
//                 --> else failed
#pragma once

#include <cstddef>
#include <string>
#include <variant>

#include "playbooks/plan.hpp"

namespace grace::playbooks {

/// Where a playbook run stands.
struct run {
  plan current;         // an on_failure fallback replaces it
  std::size_t step = 0; // the step under way
  int attempt = 1;      // of current.max_attempts
};

namespace after {
struct step {}; // run current.steps[run.step]
struct held {}; // every step done and no verification among them
struct escalate {
  std::string why;
};
struct failed {
  std::string why;
};
} // namespace after

using next
  = std::variant<after::step, after::held, after::escalate, after::failed>;

/// The step under way succeeded: the next one, or held if none is left.
next step_ok(run& r);

/// The step under way failed with `why`: the plan again from its first step
/// while attempts are left; then its on_failure: escalate, or the playbook
/// it names (plan_of `cfg`) from its first step, attempt 1 (its name in
/// `*fallback`); else failed. A fallback that does not exist is a failure.
next step_failed(run& r, const std::string& why,
                 const config::grace_config& cfg, std::string* fallback);

} // namespace grace::playbooks
