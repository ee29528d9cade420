#include "actors/supervisor.hpp"

#include <algorithm>
#include <optional>
#include <random>
#include <set>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "actors/child.hpp"
#include "actors/messages.hpp"
#include "actors/restart_policy.hpp"
#include "actors/supervisor_core.hpp"
#include "config/diff.hpp"

namespace grace::actors {

namespace {

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
  std::string last_failure;   // in words
  std::int64_t failed_ns = 0; // steady
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
  bool ready_owed = false; // the parent awaits our ready
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

  caf::behavior make_behavior() override {
    log_stray_messages(this);
    create_children();
    set_down_handler([this](caf::down_msg& dm) { child_actor_down(dm); });
    set_exit_handler([this](caf::exit_msg& em) {
      for (auto& c : state.children)
        if (c.handle)
          send_exit(c.handle, em.reason);
      quit(em.reason);
    });
    return {
      [this](start_atom) { start(); },
      [this](stop_atom) { stop(); },
      [this](const child_report& r) {
        // Reports of actors a reload replaced are theirs alone.
        for (auto it = state.retired.begin(); it != state.retired.end(); ++it)
          if (it->address() == current_sender()) {
            if (r.kind == report_kind::stopped) {
              send_exit(*it, caf::exit_reason::user_shutdown);
              state.retired.erase(it);
              if (--state.retiring == 0)
                start_reloaded();
            }
            return;
          }
        on_report(r);
      },
      [this](reload_atom, const spec_update& u) -> caf::result<bool> {
        auto rp = make_response_promise<bool>();
        state.reload_waiters.push_back(rp);
        if (state.core.current || state.retiring > 0)
          state.pending_reload = u; // after the plan under way
        else
          reload(u);
        return rp;
      },
      [this](restart_atom, const std::string& who) -> caf::result<bool> {
        auto rp = make_response_promise<bool>();
        restart_requested(who, rp);
        return rp;
      },
      [this](restart_atom, const std::string& who,
             std::int64_t since_ns) -> caf::result<bool> {
        // Restarts `who` unless it is running an instance that became ready
        // after `since_ns` (its strategy restarted it already, after a
        // sibling it depends on): answers whether it restarted it.
        if (auto it = state.index.find(who); it != state.index.end()) {
          auto i = it->second;
          auto& c = state.core.children[i];
          if (c.phase == slot_phase::running
              && state.children[i].ready_ns > since_ns) {
            c.waiting = false;
            maybe_grant(i);
            return false;
          }
          if (coming_up(i)) {
            // A plan (re)starts it right now: that instance is fresh.
            c.waiting = false;
            auto rp = make_response_promise<bool>();
            state.fresh_waiters.emplace_back(i, rp);
            return rp;
          }
        }
        auto rp = make_response_promise<bool>();
        restart_requested(who, rp);
        return rp;
      },
      [this](status_atom) -> caf::result<status_list> { return status(); },
      [this](op_atom, const std::string& verb, const std::string& who)
        -> caf::result<bool> { return operate(verb, who); },
      [this](start_atom, const std::string& who) -> caf::result<bool> {
        auto rp = make_response_promise<bool>();
        start_requested(who, rp);
        return rp;
      },
      [this](stop_atom, const std::string& who) -> caf::result<bool> {
        auto rp = make_response_promise<bool>();
        stop_requested(who, rp);
        return rp;
      },
      [this](await_dep_atom, const std::string& who, bool wait) {
        auto it = state.index.find(who);
        if (it == state.index.end())
          return;
        auto& c = state.core.children[it->second];
        c.waiting = wait;
        if (wait)
          revoke(it->second);
        if (!wait)
          maybe_grant(it->second);
      },
      [this](escalate_atom, const std::string& who, const std::string& why) {
        // A playbook gave up on child `who`: this supervisor gives up as if
        // its restart intensity were exceeded (`on_exhausted` applies).
        if (state.index.count(who) && supervising(state.core.now))
          give_up(who + ": " + why, "escalated by a playbook (" + why + ")");
      },
      [this](resume_atom, std::uint64_t gen) {
        if (state.core.current && gen == state.plan_gen) {
          state.core.current->delay_done = true;
          state.core.current->awaiting.reset();
          advance();
        }
      },
    };
  }

private:
  const std::string& path() const { return state.spec->path; }

  // -- children -----------------------------------------------------------

  void create_children() {
    auto& spec = *state.spec;
    for (auto& c : spec.children) {
      slot s;
      s.spec = &c;
      s.path = c.path();
      state.index[s.path] = state.children.size();
      state.children.push_back(std::move(s));
      state.core.children.push_back(
        make_core_child(c, state.ctx->default_backoff));
      spawn_slot_actor(state.children.size() - 1);
    }
  }

  void spawn_slot_actor(std::size_t i) {
    auto& s = state.children[i];
    if (auto* child = std::get_if<config::child_spec>(&s.spec->node)) {
      s.handle = spawn_process_actor(this, *child, state.ctx);
    } else {
      // The nested spec lives as long as the root's: share its owner.
      auto& sub = std::get<config::supervisor_spec>(s.spec->node);
      std::shared_ptr<const config::supervisor_spec> alias{state.owned, &sub};
      s.handle = spawn<supervisor_actor, caf::monitored>(
        alias, state.ctx, caf::actor_cast<caf::actor>(this));
    }
    // The coordinator restarts dependents once their dependency is back.
    auto& topo = state.ctx->topology;
    if (topo && state.ctx->coordinator && topo->is_dependent(s.path))
      send(state.ctx->coordinator, register_atom::value, s.path, s.handle,
           caf::actor_cast<caf::actor>(this));
  }

  void child_actor_down(const caf::down_msg& dm) {
    for (std::size_t i = 0; i < state.children.size(); ++i) {
      auto& s = state.children[i];
      if (s.handle && s.handle.address() == dm.source) {
        // Can't happen: actors catch their own errors. Log, replace the
        // actor, and treat it as a crash of the child.
        spdlog::critical("{}: actor of {} died ({}); replacing it", path(),
                         s.path, to_string(dm.reason));
        s.handle = nullptr;
        spawn_slot_actor(i);
        child_report r;
        r.path = s.path;
        r.kind = report_kind::exited;
        r.signal = 9;
        r.detail = "its actor died";
        r.mode = mode_name(config::failure_mode::crashed);
        on_report(r);
        return;
      }
    }
  }

  // -- requests from the parent ---------------------------------------------

  void start() {
    if (state.core.now != supervisor_mode::idle
        && state.core.now != supervisor_mode::held)
      return;
    state.core.intensity.clear();
    for (auto& c : state.core.children)
      c.removed = c.held = false;
    state.ready_owed = true;
    state.core.now = supervisor_mode::starting;
    plan p;
    p.why = purpose::start;
    for (std::size_t i = 0; i < state.children.size(); ++i)
      p.starts.push_back(i);
    run(std::move(p));
  }

  void stop() {
    state.ready_owed = false;
    state.core.now = supervisor_mode::stopping;
    answer_restarts(std::nullopt, "stopped");
    run(shutdown_plan(state.children.size(), purpose::shutdown));
  }

  // The awaited step of the current plan is done.
  void step_done() {
    actors::step_done(state.core);
    advance();
  }

  // A plan of restarts begins.
  void restarting() {
    if (state.core.now == supervisor_mode::running)
      state.core.now = supervisor_mode::restarting;
  }

  // -- reports from children ------------------------------------------------

  void on_report(const child_report& r) {
    auto it = state.index.find(r.path);
    if (it == state.index.end())
      return;
    publish(r);
    auto i = it->second;
    auto& s = state.children[i];
    auto& c = state.core.children[i];
    auto awaited = state.core.current && state.core.current->awaiting == i;
    switch (r.kind) {
      case report_kind::started:
        s.pid = r.pid;
        if (c.phase == slot_phase::stopped)
          c.phase = slot_phase::starting;
        return;
      case report_kind::ready:
        if (c.phase == slot_phase::stopping)
          return;
        c.phase = slot_phase::running;
        if (r.pid > 0)
          s.pid = r.pid;
        s.ready_ns = r.at_ns ? r.at_ns : steady_ns();
        c.streak.ready(now());
        if (s.told_down) {
          s.told_down = false;
          send(state.ctx->coordinator, dep_up_atom::value, s.path);
        }
        if (s.failing)
          note_recovered(s, r);
        answer_restarts(i, "");
        settle(state.fresh_waiters, i, false);
        if (awaited)
          step_done();
        else
          maybe_grant(i);
        return;
      case report_kind::stopped:
        c.phase = slot_phase::stopped;
        s.pid = 0;
        settle(state.stop_waiters, i, true);
        if (awaited)
          step_done();
        return;
      case report_kind::held:
        // Not restarted behind the operator's back: only a fresh start of
        // this supervisor (or, later, `grace start`) releases it.
        c.phase = slot_phase::stopped;
        c.held = true;
        if (awaited)
          step_done();
        return;
      case report_kind::exited:
      case report_kind::spawn_failed:
        break;
    }
    s.last_failure = r.detail;
    s.failed_ns = r.at_ns ? r.at_ns : steady_ns();
    s.pid = r.restarted ? r.pid : 0;
    if (r.restarted) {
      restarted(i, r);
      return;
    }
    // The child went down on its own.
    auto was = c.phase;
    c.phase = slot_phase::stopped;
    if (winding_down(state.core.now) || was == slot_phase::stopping) {
      // On its way down anyway.
      if (awaited)
        step_done();
      return;
    }
    failure(i, r);
  }

  // -- the fast path (messages.hpp) ----------------------------------------

  // Gives child i a restart permit if supervisor_core's permit() finds
  // what this supervisor would do when it fails certain.
  void maybe_grant(std::size_t i) {
    auto terms = permit(state.core, i, now());
    if (!terms)
      return;
    std::int64_t not_before = 0;
    if (terms->not_before != time_point::min())
      not_before = std::chrono::duration_cast<std::chrono::nanoseconds>(
                     terms->not_before.time_since_epoch())
                     .count();
    state.core.children[i].permitted = true;
    ++state.core.granted;
    auto& s = state.children[i];
    spdlog::debug("{}: {} may restart at once", path(), s.path);
    send(s.handle, permit_atom::value, terms->any_exit, not_before);
  }

  void grant_all() {
    for (std::size_t i = 0; i < state.children.size(); ++i)
      maybe_grant(i);
  }

  // Withdraws child i's permit, if it has one.
  void revoke(std::size_t i) {
    auto& c = state.core.children[i];
    if (!c.permitted)
      return;
    c.permitted = false;
    --state.core.granted;
    send(state.children[i].handle, revoke_atom::value);
  }

  // Any plan may decide differently from a permit: withdraw them all first.
  void revoke_all() {
    for (std::size_t i = 0; i < state.children.size(); ++i)
      revoke(i);
  }

  // Child i used its permit: the replacement runs. Record the restart as if
  // this supervisor had ordered it.
  void restarted(std::size_t i, const child_report& r) {
    auto& s = state.children[i];
    auto& c = state.core.children[i];
    if (c.permitted) { // used: nothing to withdraw
      c.permitted = false;
      --state.core.granted;
    }
    c.phase = slot_phase::starting;
    counted_restart(i);
    if (winding_down(state.core.now))
      return; // the plan stops it in its turn
    note_failed(s, r);
    tell_down(s, r);
    auto t = now();
    if (!state.core.intensity.add_restart(t)) {
      // A permit raced with a restart of the slow path: this one is over
      // the limit, as OTP would count it.
      give_up(s.path + " " + r.detail);
      return;
    }
    c.streak.failed(t, c.backoff.max);
    note(action_note(s.path, "restart",
                     std::string{to_string(state.spec->strategy)}
                       + ": restarted at once (pid " + std::to_string(r.pid)
                       + ")",
                     r.pid, r.at_ns));
    spdlog::warn("{}: restarting {} ({})", path(), s.path, r.detail);
  }

  void failure(std::size_t i, const child_report& r) {
    auto& s = state.children[i];
    child_failure e;
    e.child = i;
    e.mode = config::from_string<config::failure_mode>(r.mode);
    e.kind = r.kind == report_kind::exited && r.signal == 0 && r.code == 0
                 && r.mode != mode_name(config::failure_mode::ready_timeout)
               ? exit_kind::normal
               : exit_kind::abnormal;
    e.noted = r.noted;
    e.playbooks = static_cast<bool>(state.ctx->coordinator);
    std::uniform_real_distribution<double> jitter{-1.0, 1.0};
    auto d = decide(state.core, e, now(), jitter(state.rng),
                    state.ctx->budget.get());
    auto awaited
      = [&] { return state.core.current && state.core.current->awaiting == i; };
    if (std::holds_alternative<decision::wait_for_dependency>(d)) {
      // A dependency of it is down: its failure is on record (caused by
      // the dependency's incident), and it is restarted once the
      // dependency is back (restart_dependents), not now.
      note_failed(s, r);
      spdlog::info("{}: {} {}; restarted once its dependency is back", path(),
                   s.path, r.detail);
      if (awaited())
        step_done();
      return;
    }
    if (std::holds_alternative<decision::hand_to_playbook>(d)) {
      // The child's `on:` names a playbook for this failure: the
      // coordinator runs it; the child stays down until it acts.
      failure_report f;
      f.path = s.path;
      f.mode = r.mode;
      f.detail = r.detail;
      f.pid = r.pid;
      f.code = r.code;
      f.signal = r.signal;
      f.at_ns = r.at_ns ? r.at_ns : steady_ns();
      f.child = s.handle;
      f.supervisor = caf::actor_cast<caf::actor>(this);
      send(state.ctx->coordinator, std::move(f));
      tell_down(s, r);
      if (awaited())
        step_done();
      return;
    }
    if (auto* no = std::get_if<decision::not_restarted>(&d)) {
      auto type = std::string{to_string(state.core.children[i].restart)};
      spdlog::info("{}: {} is {} and {}: not restarted", path(), s.path, type,
                   r.detail);
      if (no->abnormal) {
        // A failure nobody heals: on record, and closed as such.
        note_failed(s, r);
        s.failing = false;
        note(closed_note(s.path, "failed", type + ": not restarted"));
      }
      if (awaited())
        step_done(); // we were waiting for it: move on without it
      return;
    }
    if (!r.noted)
      note_failed(s, r);
    tell_down(s, r);
    if (std::holds_alternative<decision::hold>(d)) {
      budget_hold(i, r);
      return;
    }
    if (std::holds_alternative<decision::give_up>(d)) {
      give_up(s.path + " " + r.detail);
      return;
    }
    auto& restart = std::get<decision::restart>(d);
    counted_restart(i);
    restarting();
    auto detail = r.detail;
    auto failed_path = s.path;
    auto delay = restart.delay;
    note(
      action_note(failed_path, "restart", restart_detail(restart.next, delay)));
    run(std::move(restart.next));
    // Logged once the restart is under way, not before.
    spdlog::warn(
      "{}: restarting {} ({}){}", path(), failed_path, detail,
      delay > duration::zero()
        ? " in "
            + config::format_duration(
              std::chrono::duration_cast<std::chrono::milliseconds>(delay))
        : std::string{});
  }

  // A restart of child i was admitted: its count (status) and the metrics.
  void counted_restart(std::size_t i) {
    auto& s = state.children[i];
    ++s.restarts;
    if (state.ctx->metrics)
      state.ctx->metrics->restarted(s.path);
  }

  // -- restarts asked for (the coordinator heals a probe failure) -------------

  // Restarts child `who` as if it had failed: its strategy applies and the
  // restart counts toward the intensity. Answers once it is ready again.
  void restart_requested(const std::string& who, caf::response_promise rp) {
    auto refuse = [&](const std::string& why) {
      rp.deliver(caf::make_error(caf::sec::runtime_error, who + ": " + why));
    };
    auto it = state.index.find(who);
    if (it == state.index.end())
      return refuse("no such child of " + path());
    auto i = it->second;
    auto& s = state.children[i];
    auto& c = state.core.children[i];
    if (!supervising(state.core.now))
      return refuse("its supervisor is stopping or gave up");
    if (c.removed || c.held)
      return refuse("it is not running");
    c.waiting = false;
    auto admitted = admit(state.core, state.ctx->budget.get(), now());
    if (admitted == admission::budget_spent)
      return refuse("the node's restart budget is spent (" + budget_text()
                    + ")");
    state.restart_waiters.emplace_back(i, std::move(rp));
    if (admitted == admission::intensity_exceeded) {
      give_up(s.path + " restarted by the coordinator");
      return;
    }
    counted_restart(i);
    auto p = restart_plan(state.core, i, true, duration::zero());
    restarting();
    spdlog::warn("{}: restarting {} (asked to by the coordinator)", path(),
                 s.path);
    run(std::move(p));
  }

  // Starts child `who` (a playbook's `start`, later the operator's): a held
  // or stopped child is released and started; one on its way up is urged
  // on (a start blocked by a held port looks again). Counts toward the
  // restart intensity like a restart. Answers once it is ready.
  void start_requested(const std::string& who, caf::response_promise rp) {
    auto it = state.index.find(who);
    if (it == state.index.end() || !supervising(state.core.now)) {
      rp.deliver(caf::make_error(caf::sec::runtime_error,
                                 who + ": "
                                   + (it == state.index.end()
                                        ? "no such child of " + path()
                                        : std::string{"its supervisor is not "
                                                      "running"})));
      return;
    }
    auto i = it->second;
    auto& s = state.children[i];
    auto& c = state.core.children[i];
    c.waiting = false;
    switch (c.phase) {
      case slot_phase::running:
        rp.deliver(true);
        return;
      case slot_phase::starting:
        state.restart_waiters.emplace_back(i, std::move(rp));
        send(s.handle, start_atom::value);
        return;
      case slot_phase::stopping:
      case slot_phase::stopped:
        break;
    }
    switch (admit(state.core, state.ctx->budget.get(), now())) {
      case admission::budget_spent:
        rp.deliver(caf::make_error(caf::sec::runtime_error,
                                   who
                                     + ": the node's restart budget is spent ("
                                     + budget_text() + ")"));
        return;
      case admission::intensity_exceeded:
        rp.deliver(caf::make_error(caf::sec::runtime_error,
                                   who + ": restart intensity exceeded"));
        give_up(s.path + " started again by a playbook");
        return;
      case admission::admitted:
        break;
    }
    c.held = false;
    c.removed = false;
    counted_restart(i);
    state.restart_waiters.emplace_back(i, std::move(rp));
    auto p = restart_plan(state.core, i, false, duration::zero());
    restarting();
    run(std::move(p));
  }

  // Stops child `who` and holds it (a playbook's `stop`, safe_hold, later
  // the operator's): not restarted until started again. Answers once it
  // has stopped.
  void stop_requested(const std::string& who, caf::response_promise rp) {
    auto it = state.index.find(who);
    if (it == state.index.end()) {
      rp.deliver(caf::make_error(caf::sec::runtime_error,
                                 who + ": no such child of " + path()));
      return;
    }
    auto i = it->second;
    auto& s = state.children[i];
    auto& c = state.core.children[i];
    c.held = true;
    revoke(i);
    // Its restart or start asked for will not happen.
    settle(state.restart_waiters, i,
           caf::make_error(caf::sec::runtime_error, who + ": stopped"));
    if (c.phase == slot_phase::stopped) {
      rp.deliver(true);
      return;
    }
    state.stop_waiters.emplace_back(i, std::move(rp));
    if (state.core.current && state.core.current->awaiting == i
        && c.phase == slot_phase::stopping)
      return; // the plan stops it already
    if (state.core.current && state.core.current->awaiting == i) {
      // The plan waits for it to come up: it is held now; move on.
      state.core.current->awaiting.reset();
      ++state.core.current->next_start;
    }
    c.phase = slot_phase::stopping;
    send(s.handle, stop_atom::value);
    advance();
  }

  std::string budget_text() const {
    auto& b = *state.ctx->budget;
    return std::to_string(b.restarts()) + " restarts within "
           + config::format_duration(
             std::chrono::duration_cast<std::chrono::milliseconds>(b.period()));
  }

  // The node's restart budget is spent: child i is held, not restarted (no
  // thrashing), and its incident closed `held`, critical, saying so. Only a
  // start releases it.
  void budget_hold(std::size_t i, const child_report& r) {
    auto& s = state.children[i];
    s.failing = false; // held by decide()
    auto why = "the node's restart budget is spent (" + budget_text()
               + "): held instead of restarted";
    spdlog::error("{}: {} {}; {}", path(), s.path, r.detail, why);
    auto n = closed_note(s.path, "held", why);
    n.severity = std::string{to_string(config::severity::critical)};
    note(std::move(n));
    if (state.core.current && state.core.current->awaiting == i)
      step_done();
  }

  // Whether child i is being started, or is still to be started by the
  // current plan.
  bool coming_up(std::size_t i) const {
    if (state.core.children[i].phase == slot_phase::starting)
      return true;
    if (!state.core.current || state.core.current->why == purpose::shutdown
        || state.core.current->why == purpose::give_up)
      return false;
    auto& p = *state.core.current;
    return std::find(p.starts.begin()
                       + static_cast<std::ptrdiff_t>(p.next_start),
                     p.starts.end(), i)
           != p.starts.end();
  }

  // Tells `grace events` what happened to a child.
  void publish(const child_report& r) {
    if (auto& m = state.ctx->metrics)
      m->component_up(r.path, r.kind == report_kind::ready);
    if (!state.ctx->events)
      return;
    std::string what;
    switch (r.kind) {
      case report_kind::started:
        what = "started";
        break;
      case report_kind::ready:
        what = "ready";
        break;
      case report_kind::exited:
        what = r.restarted ? "restarted" : "exited";
        break;
      case report_kind::spawn_failed:
        what = "spawn_failed";
        break;
      case report_kind::stopped:
        what = "stopped";
        break;
      case report_kind::held:
        what = "held";
        break;
    }
    send(state.ctx->events, event_atom::value, r.path, what, r.pid, r.detail);
  }

  // -- reload -----------------------------------------------------------------

  // Applies a new spec of this supervisor: children kept (unchanged ones
  // keep running with the same pid), changed processes stopped and started
  // with their new spec, removed ones stopped, added ones started; nested
  // supervisors get their part; its own settings change in place.
  void reload(const spec_update& u) {
    auto& next = *u.spec;
    revoke_all();
    auto m = map_reload(*state.spec, next);
    apply_reload(state.core, m, *state.spec, next, state.ctx->default_backoff);
    std::vector<slot> kept;
    state.reload_starts.clear();
    for (std::size_t k = 0; k < next.children.size(); ++k) {
      auto& c = next.children[k];
      slot s;
      if (auto old = m.continues[k]) {
        s = std::move(state.children[*old]);
        if (m.replaced[k])
          retire(s); // changed: the old actor goes, a new one comes
      }
      s.spec = &c;
      s.path = c.path();
      kept.push_back(std::move(s));
      if (!m.continues[k] || m.replaced[k]) {
        kept[k].handle = nullptr;
        state.reload_starts.push_back(k);
      } else if (c.is_supervisor()) {
        // Its part of the new tree (which stays alive with ours).
        auto& sub = std::get<config::supervisor_spec>(c.node);
        send(kept[k].handle, reload_atom::value, spec_update{{u.spec, &sub}});
      }
    }
    for (auto i : m.removed)
      retire(state.children[i]);
    state.children = std::move(kept);
    state.index.clear();
    for (std::size_t i = 0; i < state.children.size(); ++i)
      state.index[state.children[i].path] = i;
    state.owned = u.spec;
    state.spec = u.spec.get();
    for (auto k : state.reload_starts)
      spawn_slot_actor(k);
    if (state.retiring == 0)
      start_reloaded();
  }

  // Stops a replaced or removed child's actor; it exits once stopped.
  void retire(slot& s) {
    if (!s.handle)
      return;
    spdlog::info("{}: {} goes (reload)", path(), s.path);
    ++state.retiring;
    state.retired.push_back(s.handle);
    send(s.handle, stop_atom::value);
    s.handle = nullptr;
  }

  // Every replaced child has stopped: start the new and changed ones.
  void start_reloaded() {
    if (!supervising(state.core.now)) {
      answer_reloads();
      return;
    }
    if (state.reload_starts.empty()) {
      answer_reloads();
      grant_all();
      return;
    }
    plan p;
    p.why = purpose::restart;
    p.starts = state.reload_starts;
    state.reload_starts.clear();
    restarting();
    run(std::move(p));
  }

  void answer_reloads() {
    for (auto& rp : state.reload_waiters)
      rp.deliver(true);
    state.reload_waiters.clear();
  }

  // -- the operator (grace status, start, stop, restart) ----------------------

  static std::string slot_state(const core_child& s) {
    if (s.removed)
      return "done";
    if (s.held)
      return "held";
    if (s.waiting)
      return "waiting";
    switch (s.phase) {
      case slot_phase::stopped:
        return "stopped";
      case slot_phase::starting:
        return "starting";
      case slot_phase::running:
        return "running";
      case slot_phase::stopping:
        return "stopping";
    }
    return "stopped";
  }

  std::string mode_text() const {
    switch (state.core.now) {
      case supervisor_mode::idle:
        return "stopped";
      case supervisor_mode::starting:
        return "starting";
      case supervisor_mode::running:
        return "running";
      case supervisor_mode::restarting:
        return "restarting";
      case supervisor_mode::stopping:
        return "stopping";
      case supervisor_mode::giving_up:
        return "giving up";
      case supervisor_mode::held:
        return "held";
    }
    return "stopped";
  }

  // This supervisor, then its children depth first (nested supervisors are
  // asked for theirs).
  caf::result<status_list> status() {
    struct gather {
      caf::response_promise rp;
      std::vector<status_list> parts; // [0]: this supervisor
      std::size_t pending = 0;
      void finish() {
        status_list all;
        for (auto& p : parts)
          all.insert(all.end(), p.begin(), p.end());
        rp.deliver(std::move(all));
      }
    };
    auto g = std::make_shared<gather>();
    g->rp = make_response_promise<status_list>();
    component_status me;
    me.path = path();
    me.supervisor = true;
    me.state = mode_text();
    g->parts.push_back({me});
    for (std::size_t i = 0; i < state.children.size(); ++i) {
      auto& c = state.children[i];
      auto& cc = state.core.children[i];
      component_status e;
      e.path = c.path;
      e.supervisor = c.spec->is_supervisor();
      e.state = slot_state(cc);
      e.pid = c.pid;
      e.ready_ns = cc.phase == slot_phase::running ? c.ready_ns : 0;
      e.restarts = c.restarts;
      e.last_failure = c.last_failure;
      e.failed_ns = c.failed_ns;
      auto k = g->parts.size();
      g->parts.push_back({e});
      if (!c.handle)
        continue;
      if (!e.supervisor) {
        auto* child = std::get_if<config::child_spec>(&c.spec->node);
        if (!child || child->probes.empty())
          continue;
        ++g->pending;
        request(c.handle, std::chrono::seconds{2}, status_atom::value)
          .then(
            [g, k](const std::string& probes) {
              g->parts[k].front().probes = probes;
              if (--g->pending == 0)
                g->finish();
            },
            [g](caf::error&) {
              if (--g->pending == 0)
                g->finish();
            });
        continue;
      }
      ++g->pending;
      request(c.handle, std::chrono::seconds{5}, status_atom::value)
        .then(
          [g, k, e](status_list& sub) {
            if (!sub.empty()) {
              // Its own view of itself, with what this supervisor counted.
              sub.front().restarts = e.restarts;
              sub.front().ready_ns = e.ready_ns;
              sub.front().last_failure = e.last_failure;
              sub.front().failed_ns = e.failed_ns;
              if (e.state == "held" || e.state == "waiting")
                sub.front().state = e.state;
              g->parts[k] = std::move(sub);
            }
            if (--g->pending == 0)
              g->finish();
          },
          [g](caf::error&) {
            if (--g->pending == 0)
              g->finish();
          });
    }
    if (g->pending == 0)
      g->finish();
    return g->rp;
  }

  // `verb` (start, stop, restart) on component `who`: a child of this
  // supervisor, or something under one of its nested supervisors.
  caf::result<bool> operate(const std::string& verb, const std::string& who) {
    auto rp = make_response_promise<bool>();
    auto it = state.index.find(who);
    if (it == state.index.end()) {
      for (auto& c : state.children)
        if (c.spec->is_supervisor() && c.handle
            && who.starts_with(c.path + "/")) {
          request(c.handle, std::chrono::minutes{5}, op_atom::value, verb, who)
            .then(
              [rp](bool ok) mutable { rp.deliver(ok); },
              [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
          return rp;
        }
      rp.deliver(
        caf::make_error(caf::sec::runtime_error, "no component " + who));
      return rp;
    }
    auto i = it->second;
    if (verb == "stop") {
      spdlog::info("{}: stopping {} (asked to by the operator)", path(), who);
      stop_requested(who, rp);
      return rp;
    }
    if (verb != "start" && verb != "restart") {
      rp.deliver(
        caf::make_error(caf::sec::runtime_error, "unknown operation " + verb));
      return rp;
    }
    if (!supervising(state.core.now)) {
      rp.deliver(caf::make_error(caf::sec::runtime_error,
                                 who + ": its supervisor " + path() + " is "
                                   + mode_text()));
      return rp;
    }
    // The operator's start and restart release a hold and do not count
    // toward the restart intensity or the node's budget.
    auto& c = state.core.children[i];
    c.held = c.removed = c.waiting = false;
    if (verb == "start" && c.phase == slot_phase::running) {
      rp.deliver(true);
      return rp;
    }
    state.restart_waiters.emplace_back(i, rp);
    if (verb == "start" && c.phase == slot_phase::starting)
      return rp;
    spdlog::info("{}: {} {} (asked to by the operator)", path(),
                 verb == "start" ? "starting" : "restarting", who);
    auto p = restart_plan(state.core, i, verb == "restart", duration::zero());
    restarting();
    run(std::move(p));
    return rp;
  }

  // Answers the restart requests for child i (ok), or all of them (not ok).
  void answer_restarts(std::optional<std::size_t> i, const std::string& why) {
    if (i) {
      settle(state.restart_waiters, i, true);
      return;
    }
    auto err = caf::make_error(caf::sec::runtime_error, why);
    settle(state.fresh_waiters, std::nullopt, err);
    settle(state.restart_waiters, std::nullopt, err);
  }

  void give_up(const std::string& why, const std::string& reason = {}) {
    auto& spec = *state.spec;
    spdlog::error("{}: restart intensity exceeded (more than {} restarts in "
                  "{}); last failure: {}; {}",
                  path(), spec.intensity, config::format_duration(spec.period),
                  why,
                  spec.on_exhausted == config::exhausted_action::hold
                    ? "holding the subtree stopped"
                    : "giving up");
    state.core.now = supervisor_mode::giving_up;
    answer_restarts(std::nullopt, "restart intensity exceeded");
    auto hold = spec.on_exhausted == config::exhausted_action::hold;
    for (auto& c : state.children)
      c.failing = false;
    note(closed_note(path(), hold ? "held" : "escalated",
                     !reason.empty()
                       ? reason
                       : "restart intensity exceeded (more than "
                           + std::to_string(spec.intensity) + " restarts in "
                           + config::format_duration(spec.period) + ")",
                     true));
    auto p = shutdown_plan(state.children.size(), purpose::give_up);
    p.reason = why;
    run(std::move(p));
  }

  // -- carrying out plans -----------------------------------------------------

  void run(plan p) {
    revoke_all();
    ++state.plan_gen;
    state.core.current = std::move(p);
    advance();
  }

  void advance() {
    while (state.core.current) {
      auto step = next_step(state.core);
      switch (step.what) {
        case plan_step::kind::stop:
          send(state.children[step.child].handle, stop_atom::value);
          return;
        case plan_step::kind::start:
          send(state.children[step.child].handle, start_atom::value);
          return;
        case plan_step::kind::delay:
          delayed_send(this, state.core.current->delay, resume_atom::value,
                       state.plan_gen);
          return;
        case plan_step::kind::await:
          return;
        case plan_step::kind::done:
          finish();
          break;
      }
    }
  }

  void finish() {
    auto p = std::move(*state.core.current);
    state.core.current.reset();
    if (state.pending_reload && p.why != purpose::shutdown
        && p.why != purpose::give_up) {
      auto u = std::move(*state.pending_reload);
      state.pending_reload.reset();
      state.core.now = supervisor_mode::running;
      reload(u);
      return;
    }
    if (p.why == purpose::restart || p.why == purpose::start)
      answer_reloads();
    switch (p.why) {
      case purpose::start:
      case purpose::restart:
        state.core.now = supervisor_mode::running;
        if (state.ready_owed) {
          state.ready_owed = false;
          spdlog::info("{}: all children ready", path());
          report(report_kind::ready);
        }
        grant_all();
        return;
      case purpose::shutdown:
        state.core.now = supervisor_mode::idle;
        report(report_kind::stopped);
        return;
      case purpose::give_up:
        if (state.spec->on_exhausted == config::exhausted_action::hold) {
          state.core.now = supervisor_mode::held;
          state.ready_owed = false;
          report(report_kind::held);
          return;
        }
        state.core.now = supervisor_mode::idle;
        child_report r;
        r.path = path();
        r.kind = report_kind::exited;
        r.code = 1;
        r.detail = "restart intensity exceeded (" + p.reason + ")";
        r.mode = mode_name(config::failure_mode::restart_intensity_exceeded);
        r.at_ns = steady_ns();
        send(state.parent, std::move(r));
        return;
    }
  }

  void report(report_kind kind) {
    child_report r;
    r.path = path();
    r.kind = kind;
    r.at_ns = steady_ns();
    send(state.parent, std::move(r));
  }

  static time_point now() { return std::chrono::steady_clock::now(); }

  // -- incidents (tracker.hpp) ------------------------------------------------

  void note(incident_note n) {
    if (state.ctx->tracker)
      send(state.ctx->tracker, std::move(n));
  }

  void note_failed(slot& s, const child_report& r) {
    s.failing = true;
    auto n = failed_note(
      s.path, r.mode.empty() ? mode_name(config::failure_mode::exited) : r.mode,
      r.detail, r.at_ns);
    n.pid = r.restarted ? r.old_pid : r.pid;
    n.code = r.code;
    n.signal = r.signal;
    note(std::move(n));
  }

  // Tells the coordinator that a component others depend on failed: their
  // failures are caused by it, and they are restarted once it is back.
  void tell_down(slot& s, const child_report& r) {
    auto& topo = state.ctx->topology;
    if (!topo || !state.ctx->coordinator || !topo->has_dependents(s.path))
      return;
    s.told_down = true;
    send(state.ctx->coordinator, dep_down_atom::value, s.path, r.mode, r.detail,
         r.at_ns ? r.at_ns : steady_ns());
  }

  void note_recovered(slot& s, const child_report& r) {
    s.failing = false;
    auto* child = std::get_if<config::child_spec>(&s.spec->node);
    note(recovered_note(s.path,
                        child ? ready_rule(child->ready) : "all children ready",
                        r.pid, r.at_ns));
  }

  static std::string ready_rule(const config::ready_spec& r) {
    switch (r.how) {
      case config::ready_spec::kind::running:
        return "running";
      case config::ready_spec::kind::tcp:
        return "tcp " + r.host + ":" + std::to_string(r.port);
      case config::ready_spec::kind::notify:
        return "notify READY=1";
      case config::ready_spec::kind::exec:
        return "exec";
      case config::ready_spec::kind::delay:
        return "delay " + config::format_duration(r.delay);
    }
    return "running";
  }

  // "one_for_all: stop b, a; start a, b in 200ms"
  std::string restart_detail(const plan& p, duration delay) const {
    std::string text{to_string(state.spec->strategy)};
    auto names = [&](const std::vector<std::size_t>& which) {
      std::string out;
      for (auto j : which)
        out += (out.empty() ? "" : ", ") + state.children[j].spec->name();
      return out;
    };
    if (!p.stops.empty())
      text += ": stop " + names(p.stops) + ";";
    else
      text += ":";
    text += " start " + names(p.starts);
    if (delay > duration::zero())
      text += " in "
              + config::format_duration(
                std::chrono::duration_cast<std::chrono::milliseconds>(delay));
    return text;
  }
};

} // namespace

caf::actor spawn_supervisor(caf::event_based_actor* parent,
                            std::shared_ptr<const config::supervisor_spec> spec,
                            node_context_ptr ctx) {
  return parent->spawn<supervisor_actor, caf::monitored>(
    std::move(spec), std::move(ctx), caf::actor_cast<caf::actor>(parent));
}

} // namespace grace::actors
