// The supervisor actor, shared by the files of its concepts: supervisor.cpp
// (children, reports, failures, the fast path, carrying out plans,
// incidents) and supervisor_requests.cpp (restarts and starts and stops asked
// for, reload, grace status). Its decisions are supervisor_core's. Internal
// to actors/.
#pragma once

#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "actors/messages.hpp"
#include "actors/node_context.hpp"
#include "actors/supervisor_core.hpp"

namespace grace::actors::detail {

// The decisions (where a failure goes, what is counted, the plan) are
// supervisor_core's; this actor carries them out: it sends the stops and
// starts of the plan under way, one at a time, keeps the promises of those
// who asked, and tells the tracker, the coordinator and the metrics.

/// One child as the actor sees it; what the decisions know of it is
/// `core.children[i]` at the same index.
struct slot {
  const config::component_spec* spec = nullptr;
  std::string path;
  caf::actor handle;
  bool failing = false;      // its incident is open at the tracker
  bool told_down = false;    // the coordinator knows it failed; tell it when
                             // it is ready again
  std::int64_t ready_ns = 0; // steady: when it was last ready
  // For `grace status`:
  std::int32_t pid = 0;       // its process, while one runs
  std::int32_t restarts = 0;  // since grace started
  std::uint64_t lane_gen = 0; // its own restart's timer (0: none yet)
};

/// Promises of answers about one child each.
using waiters = std::vector<std::pair<std::size_t, caf::response_promise>>;

/// Delivers `answer` to the promises about child `i` (every one, if none)
/// and forgets them.
template <class Answer>
void settle(waiters& w, std::optional<std::size_t> i, const Answer& answer) {
  std::erase_if(w, [&](auto& entry) {
    if (i && entry.first != *i)
      return false;
    entry.second.deliver(answer);
    return true;
  });
}

struct supervisor_state {
  static inline const char* name = "grace.supervisor";
  const config::supervisor_spec* spec = nullptr;
  std::shared_ptr<const config::supervisor_spec> owned; // keeps spec alive
  node_context_ptr ctx;
  caf::actor parent;
  supervisor_core core;
  std::vector<slot> children; // core.children[i] is what decisions know
  std::unordered_map<std::string, std::size_t> index; // path -> slot
  std::uint64_t plan_gen = 0;
  std::uint64_t lane_gen = 0; // the last one given to a child's restart
  bool ready_owed = false;    // the parent awaits our ready
  // Restarts and starts asked for, answered when the child is ready again.
  waiters restart_waiters;
  // Restarts found unneeded: a fresh instance is on its way up (answered
  // `false` once it is ready).
  waiters fresh_waiters;
  // Stops asked for, answered when the child has stopped.
  waiters stop_waiters;
  std::mt19937 rng{std::random_device{}()};
  // -- reload
  std::optional<spec_update> pending_reload; // waits for the current plan
  std::vector<caf::response_promise> reload_waiters;
  std::size_t retiring = 0; // replaced actors still stopping
  std::vector<std::size_t> reload_starts;
  std::vector<caf::actor> retired; // asked to stop, then to exit
};

class supervisor_actor : public caf::stateful_actor<supervisor_state> {
public:
  supervisor_actor(caf::actor_config& cfg,
                   std::shared_ptr<const config::supervisor_spec> spec,
                   node_context_ptr ctx, caf::actor parent)
      : caf::stateful_actor<supervisor_state>(cfg) {
    state.owned = std::move(spec);
    state.spec = state.owned.get();
    state.ctx = std::move(ctx);
    state.parent = std::move(parent);
    state.core = supervisor_core{state.spec->strategy, state.spec->intensity,
                                 state.spec->period};
  }

  caf::behavior make_behavior() override;

private:
  const std::string& path() const { return state.spec->path; }

  // -- children -----------------------------------------------------------

  void create_children();

  void spawn_slot_actor(std::size_t i);

  void child_actor_down(const caf::down_msg& dm);

  // -- requests from the parent ---------------------------------------------

  void start();

  void stop();

  // The awaited step of the current plan is done.
  void step_done();

  // A plan of restarts begins.
  void restarting();

  // -- reports from children ------------------------------------------------

  void on_report(const child_report& r);

  // -- the fast path (messages.hpp) ----------------------------------------

  // Gives child i a restart permit if supervisor_core's permit() finds
  // what this supervisor would do when it fails certain.
  void maybe_grant(std::size_t i);

  void grant_all();

  // Withdraws child i's permit, if it has one.
  void revoke(std::size_t i);

  // Any plan may decide differently from a permit: withdraw them all first.
  void revoke_all();

  // Child i used its permit: the replacement runs. Record the restart as if
  // this supervisor had ordered it.
  void restarted(std::size_t i, const child_report& r);

  void failure(std::size_t i, const child_report& r);

  // Child i's own restart (one_for_one) is due now: started unless a stop,
  // a hold or the supervisor's winding down came first.
  void start_alone(std::size_t i);

  // A restart of child i was admitted: its count (status) and the metrics.
  void counted_restart(std::size_t i);

  // -- restarts asked for (the coordinator heals a probe failure) -------------

  // Restarts child `who` as if it had failed: its strategy applies and the
  // restart counts toward the intensity. Answers once it is ready again.
  void restart_requested(const std::string& who, caf::response_promise rp);

  // The index of child `who`, or none: `rp` is refused (no_such_component).
  std::optional<std::size_t> child_asked_for(const std::string& who,
                                             caf::response_promise& rp);

  // Whether child `i` is placed on another node of the cluster; if so,
  // `rp` is refused (only the cluster starts it, where it places it).
  bool placed_elsewhere(std::size_t i, const std::string& who,
                        caf::response_promise& rp);

  // Starts child `who` (a playbook's `start`, later the operator's): a held
  // or stopped child is released and started; one on its way up is urged
  // on (a start blocked by a held port looks again). Counts toward the
  // restart intensity like a restart. Answers once it is ready.
  void start_requested(const std::string& who, caf::response_promise rp);

  // Stops child `who` and holds it (a playbook's `stop`, safe_hold, later
  // the operator's): not restarted until started again. Answers once it
  // has stopped.
  void stop_requested(const std::string& who, caf::response_promise rp);

  // Whether child `c` waits for a dependency on another node before its
  // first start (and would run here).
  static bool awaits_release(const core_child& c);

  // What child `i` depends on on another node is ready (the cluster says
  // so): it starts if it waited for that, alone, not counted.
  void release(std::size_t i);

  std::string budget_text() const;

  // The node's restart budget is spent: child i is held, not restarted (no
  // thrashing), and its incident closed `held`, critical, saying so. Only a
  // start releases it.
  void budget_hold(std::size_t i, const child_report& r);

  // Whether child i is being started, or is still to be started by the
  // current plan.
  bool coming_up(std::size_t i) const;

  // Tells `grace events` what happened to a child.
  void publish(const child_report& r);

  // -- reload -----------------------------------------------------------------

  // Applies a new spec of this supervisor: children kept (unchanged ones
  // keep running with the same pid), changed processes stopped and started
  // with their new spec, removed ones stopped, added ones started; nested
  // supervisors get their part; its own settings change in place.
  void reload(const spec_update& u);

  // Stops a replaced or removed child's actor; it exits once stopped.
  void retire(slot& s);

  // Every replaced child has stopped: start the new and changed ones.
  void start_reloaded();

  /// Answers every reload under way: done, or `failed` (this supervisor
  /// gave up before the new spec was in place).
  void answer_reloads(const caf::error& failed = {});

  // -- the operator (grace status, start, stop, restart) ----------------------

  static std::string slot_state(const core_child& s);

  std::string mode_text() const;

  // This supervisor, then its children depth first (nested supervisors are
  // asked for theirs), answered within `budget`: a row whose answer has not
  // come by then is what this supervisor knows, marked late.
  caf::result<status_list> status(std::chrono::milliseconds budget);

  // `verb` (start, stop, restart) on component `who`: a child of this
  // supervisor, or something under one of its nested supervisors.
  caf::result<bool> operate(const std::string& verb, const std::string& who);

  // Answers the restart and start requests for child i: it is ready.
  void answer_restarts(std::size_t i);

  // Refuses every restart and start request under way with `why`.
  void refuse_restarts(const caf::error& why);

  void give_up(const std::string& why, const std::string& reason = {});

  // -- carrying out plans -----------------------------------------------------

  void run(plan p);

  void advance();

  void finish();

  void report(report_kind kind);

  // The node's steady time (node_context::time).
  time_point now() const {
    return time_point{std::chrono::nanoseconds{state.ctx->time->steady_ns()}};
  }

  // -- incidents (tracker.hpp) ------------------------------------------------

  // Tells the tracker (an incident_note or a failure_note).
  template <class Note>
  void note(Note n) {
    send_note(this, state.ctx->tracker, *state.ctx->time, std::move(n));
  }

  void note_failed(slot& s, const child_report& r);

  // Tells the coordinator that a component others depend on failed: their
  // failures are caused by it, and they are restarted once it is back.
  void tell_down(slot& s, const child_report& r);

  void note_recovered(slot& s, const child_report& r);

  static std::string ready_rule(const config::ready_spec& r);

  // "one_for_all: stop b, a; start a, b in 200ms"
  std::string restart_detail(const plan& p, duration delay) const;
};

} // namespace grace::actors::detail
