// A supervisor's decisions as pure functions over its state (no actors, no
// clock, no processes), as OTP keeps them in supervisor.erl: where a failure
// goes (a dependency, a playbook, no restart, a restart), whether it may be
// counted (the node's budget, then the intensity window), the backoff, and
// the plan that carries it out, folded into what an interrupted plan still
// had to do. The fast-path permit is read off the same rules. The
// supervisor actor (supervisor.cpp) applies what these return.
//
//   idle --start--> starting --plan done--> running --failure--> restarting
//                                             ^                     |
//                                             +------plan done------+
//   any --stop--> stopping --plan done--> idle
//   restarting --intensity exceeded--> giving_up --plan done--> idle | held
#pragma once

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "actors/restart_policy.hpp"
#include "config/schema.hpp"

namespace grace::actors {

enum class supervisor_mode {
  idle,
  starting,
  running,
  restarting,
  stopping,
  giving_up,
  held
};

/// Whether restarts and starts are carried out: starting, running or
/// restarting (not stopping, giving up, stopped or held).
constexpr bool supervising(supervisor_mode m) {
  return m == supervisor_mode::starting || m == supervisor_mode::running
         || m == supervisor_mode::restarting;
}

/// Whether the supervisor is on its way down: stopping or giving up.
constexpr bool winding_down(supervisor_mode m) {
  return m == supervisor_mode::stopping || m == supervisor_mode::giving_up;
}

enum class slot_phase { stopped, starting, running, stopping };

/// What the decisions know of one child; the actor keeps the rest (its
/// actor, its status) beside it, at the same index.
struct core_child {
  config::restart_type restart = config::restart_type::permanent;
  config::backoff_spec backoff;
  backoff_streak streak;
  /// Failure modes its `on:` gives to a playbook other than `restart`.
  std::set<config::failure_mode> handed_over;
  /// A process: the I/O thread can restart it (a nested supervisor cannot).
  bool fast_path_able = false;
  slot_phase phase = slot_phase::stopped;
  bool removed = false; // a temporary child that ended: never started again
  bool held = false;    // stopped and held until started again
  /// Placed on nodes of a cluster (`nodes:`): held wherever the cluster has
  /// not placed it (`here`), whatever starts its supervisor.
  bool placed = false;
  bool here = false;
  /// It depends on a component the cluster may place on another node: held
  /// at its first start until that one is ready on some node (released).
  bool gated = false;
  bool waiting = false;   // a dependency of it is down (restart_dependents)
  bool permitted = false; // holds a restart permit (the fast path)
  /// A restart of its own is due (one_for_one): it starts once its backoff
  /// is over, whatever plan is under way.
  bool due = false;
};

/// Returns the decision-relevant part of a child's spec.
core_child make_core_child(const config::component_spec& spec,
                           const config::backoff_spec& default_backoff);

enum class purpose { start, restart, shutdown, give_up };

/// One plan at a time: stop some children (one by one, in order, each
/// stopped before the next), then start some (in order, each ready before
/// the next). Under one_for_one a child's own restart is no plan (see
/// decision::restart_alone): it never waits for a sibling's readiness.
struct plan {
  purpose why = purpose::start;
  std::vector<std::size_t> stops;  // in order
  std::vector<std::size_t> starts; // in order
  std::size_t next_stop = 0;
  std::size_t next_start = 0;
  std::optional<std::size_t> delayed; // this child's start waits `delay`
  duration delay{};
  bool delay_done = false;
  std::optional<std::size_t> awaiting; // a child whose stop/ready we await
  std::string reason;                  // for give_up: why
};

/// A supervisor's state as the decisions see it.
struct supervisor_core {
  supervisor_core() : supervisor_core(config::strategy::one_for_one, 0, {}) {}
  supervisor_core(config::strategy how, int max, duration period)
      : strategy(how), intensity(max, period) {}

  config::strategy strategy;
  restart_intensity intensity;
  std::vector<core_child> children;
  supervisor_mode now = supervisor_mode::idle;
  std::optional<plan> current;
  std::size_t granted = 0; // restart permits out
};

/// Where a failure goes before anything is counted.
enum class route {
  wait_for_dependency, // restarted once its dependency is back
  playbook,            // its `on:` names a playbook: the coordinator acts
  not_restarted,       // its restart type says no
  restart,             // by the strategy, if the budget and intensity allow
};

/// The route of a failure `mode` ending as `kind` of child `c`. `noted`: on
/// record already (a playbook's verification failed: not handed back to
/// it); `playbooks`: a coordinator runs playbooks.
route route_of(const core_child& c, config::failure_mode mode, exit_kind kind,
               bool noted, bool playbooks);

/// Whether a restart may be counted: the node's budget first, then the
/// supervisor's intensity window.
enum class admission { admitted, budget_spent, intensity_exceeded };

/// Counts one restart at `now` against `budget` (none: no limit) and the
/// intensity window.
admission admit(supervisor_core& core, restart_budget* budget, time_point now);

/// The plan that restarts child `i` by the strategy: the others of its
/// restart set stopped (`i` too if `stop_it`: it still runs), then all
/// started, `i` after `delay`; what an interrupted plan still had to stop
/// or start is folded in. Temporary siblings the strategy terminates are
/// removed (OTP).
plan restart_plan(supervisor_core& core, std::size_t i, bool stop_it,
                  duration delay);

/// The plan that starts child `i`, stopped, and nothing else (whatever the
/// strategy: no sibling terminated), with what an interrupted plan still
/// had to do: the cluster places it here, or its dependency on another
/// node is ready.
plan start_plan(const supervisor_core& core, std::size_t i);

/// Every child stopped, last started first.
plan shutdown_plan(std::size_t children, purpose why);

/// What the plan under way asks for next.
struct plan_step {
  enum class kind {
    stop,  // send `child` a stop, and await its stop
    start, // send `child` a start, and await its ready
    delay, // await `plan.delay` before starting `child` (its backoff)
    await, // a step is under way: nothing to do until it ends
    done,  // the plan is complete
  } what
    = kind::done;
  std::size_t child = 0;
};

/// Steps the current plan past what needs nothing (a child stopped
/// already, one removed, held or running) to its next step, marking the
/// child it concerns (stopping, starting) and awaiting it.
plan_step next_step(supervisor_core& core);

/// The awaited step of the current plan ended (the child stopped, or is
/// ready, or its delay is over).
void step_done(supervisor_core& core);

/// How a reload maps the children, by name (a child and a nested
/// supervisor of the same name are different things).
struct reload_map {
  /// Per child of the new spec: the index of the old child it continues;
  /// none: new.
  std::vector<std::optional<std::size_t>> continues;
  /// Per child of the new spec: a process whose spec changed (its old
  /// actor goes, a new one starts).
  std::vector<bool> replaced;
  /// The old children no new one continues.
  std::vector<std::size_t> removed;
};

reload_map map_reload(const config::supervisor_spec& before,
                      const config::supervisor_spec& after);

/// Applies a reload to `core`: the new spec's strategy and intensity (the
/// window is kept unless it changed), each continued child's history
/// (phase, streak, hold; a nested supervisor keeps its backoff) under its
/// new rules; new and replaced children stopped.
void apply_reload(supervisor_core& core, const reload_map& m,
                  const config::supervisor_spec& before,
                  const config::supervisor_spec& after,
                  const config::backoff_spec& default_backoff);

/// A child went down on its own.
struct child_failure {
  std::size_t child = 0;
  config::failure_mode mode = config::failure_mode::crashed;
  exit_kind kind = exit_kind::abnormal;
  bool noted = false;
  bool playbooks = false;
  /// It could not be started for want of descriptors or processes
  /// (runtime::shortage): restarted after its backoff, not counted against
  /// the intensity or the node's budget - the component did not fail,
  /// grace could not run it.
  bool shortage = false;
};

namespace decision {
struct wait_for_dependency {};
struct hand_to_playbook {};
struct not_restarted {
  bool abnormal = false; // a failure nobody heals: closed as failed
};
struct hold {}; // the node's budget is spent: held, not restarted
struct give_up {};
struct restart {
  plan next;
  duration delay{};
};
/// one_for_one: the child alone, after `delay`, beside whatever plan is
/// under way (a plan that awaits its readiness keeps awaiting it). Its
/// `due` is set; start_alone() starts it.
struct restart_alone {
  std::size_t child = 0;
  duration delay{};
};
} // namespace decision

using failure_decision
  = std::variant<decision::wait_for_dependency, decision::hand_to_playbook,
                 decision::not_restarted, decision::hold, decision::give_up,
                 decision::restart, decision::restart_alone>;

/// What the supervisor does about `e` at `now`: the route, then the count,
/// then the backoff (`random` in [-1, 1] scales its jitter) and the plan.
/// Updates `core`: the intensity window, the child's streak, and the
/// children the decision removes or holds.
failure_decision decide(supervisor_core& core, const child_failure& e,
                        time_point now, double random, restart_budget* budget);

/// The backoff of child `i`'s own restart is over: whether to start it now
/// (marked starting). Not if a stop, a hold or the supervisor's winding
/// down came first.
bool start_alone(supervisor_core& core, std::size_t i);

/// A restart the supervisor authorises in advance (the fast path).
struct permit_terms {
  bool any_exit = true; // permanent; transient: abnormal exits only
  /// Exits before this take the slow path (the backoff's stable period);
  /// time_point::min(): any time.
  time_point not_before = time_point::min();
};

/// A permit for child `i` if what decide() would do when it fails is
/// certain: restart it alone, at once, within the intensity (counting every
/// permit out as a restart to come). Nothing otherwise.
std::optional<permit_terms> permit(const supervisor_core& core, std::size_t i,
                                   time_point now);

} // namespace grace::actors
