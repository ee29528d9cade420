// Which playbook heals which failure, and the steps it runs (SPEC.md section
// 5). Pure functions over the validated config: the coordinator asks
// playbook_for() what to run for a failure and plan_of() for the steps, which
// always end with a verification.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/schema.hpp"

namespace grace::playbooks {

/// A playbook ready to run: its steps (verification last) and limits.
struct plan {
  std::string name;
  bool builtin = false;
  std::vector<config::step_spec> steps;
  int max_attempts = 1;
  /// A playbook to fall back to, `escalate` or `safe_hold`; none = the
  /// supervisor's rules apply.
  std::optional<std::string> on_failure;
};

/// Returns the playbook a failure mode gets when the config names none:
/// `restart` for exits and probe failures, `free_port` for `port_in_use`,
/// `restart_dependents` for `dependency_failed`, `escalate` for
/// `restart_intensity_exceeded` (the supervisor's `on_exhausted` decides).
std::string_view default_playbook(config::failure_mode mode);

/// Returns the playbook that heals `mode` for `child`: its `on:` entry, else
/// default_playbook(mode).
std::string playbook_for(const config::child_spec& child,
                         config::failure_mode mode);

/// The failure modes of `child` that go to the coordinator when its process
/// goes down: those its `on:` gives a playbook other than `restart`. Any
/// other exit is the supervisor's to restart by its strategy.
std::set<config::failure_mode>
routed_to_playbooks(const config::child_spec& child);

/// Returns the plan of playbook `name` (built in or from `cfg`), or nullopt
/// if there is no such playbook.
std::optional<plan> plan_of(const config::grace_config& cfg,
                            std::string_view name);

/// The deadlines a node gives the built-in playbooks' steps (a user's
/// playbook states its own).
struct builtin_deadlines {
  config::duration verify_within{std::chrono::seconds{10}};
  config::duration restart_within{std::chrono::seconds{120}};
};

/// The plan that heals failure `mode` of `child` (null: a component the
/// config no longer has: the mode's default playbook), from `cfg`, with
/// `deadlines` on a built-in one's verify, restart and start steps.
std::optional<plan> plan_for(const config::grace_config& cfg,
                             const config::child_spec* child,
                             config::failure_mode mode,
                             const builtin_deadlines& deadlines);

/// Returns `steps` with a verification appended unless the last step already
/// is one: every playbook ends with a verification (SPEC.md section 5).
std::vector<config::step_spec>
with_verification(std::vector<config::step_spec> steps);

} // namespace grace::playbooks
