#include "actors/supervisor.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "actors/child.hpp"
#include "actors/supervisor_actor.hpp"
#include "runtime/process.hpp"

namespace grace::actors::detail {

caf::behavior supervisor_actor::make_behavior() {
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
    [this](status_atom, std::int64_t budget_ms) -> caf::result<status_list> {
      return status(std::chrono::milliseconds{budget_ms});
    },
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
    [this](resume_atom, const std::string& who, std::uint64_t gen) {
      // The backoff of child `who`'s own restart is over (by path: a
      // reload meanwhile may have moved it).
      if (auto it = state.index.find(who);
          it != state.index.end() && state.children[it->second].lane_gen == gen)
        start_alone(it->second);
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

void supervisor_actor::create_children() {
  auto& spec = *state.spec;
  for (auto& c : spec.children) {
    slot s;
    s.spec = &c;
    s.path = c.path();
    state.index[s.path] = state.children.size();
    state.children.push_back(std::move(s));
    state.core.children.push_back(
      make_core_child(c, state.ctx->default_backoff));
    state.core.children.back().gated
      = state.ctx->gated.count(state.children.back().path) > 0;
    spawn_slot_actor(state.children.size() - 1);
  }
}

void supervisor_actor::spawn_slot_actor(std::size_t i) {
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

void supervisor_actor::child_actor_down(const caf::down_msg& dm) {
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
      r.what.signal = 9;
      r.what.detail = "its actor died";
      r.what.mode = config::failure_mode::crashed;
      on_report(r);
      return;
    }
  }
}

void supervisor_actor::start() {
  if (state.core.now != supervisor_mode::idle
      && state.core.now != supervisor_mode::held)
    return;
  state.core.intensity.clear();
  for (auto& c : state.core.children) {
    c.removed = false;
    c.held = (c.placed && !c.here) || c.gated;
  }
  state.ready_owed = true;
  state.core.now = supervisor_mode::starting;
  plan p;
  p.why = purpose::start;
  for (std::size_t i = 0; i < state.children.size(); ++i)
    p.starts.push_back(i);
  run(std::move(p));
}

void supervisor_actor::stop() {
  state.ready_owed = false;
  state.core.now = supervisor_mode::stopping;
  refuse_restarts(grace_error(grace_errc::stopped, "stopped"));
  run(shutdown_plan(state.children.size(), purpose::shutdown));
}

void supervisor_actor::step_done() {
  actors::step_done(state.core);
  advance();
}

void supervisor_actor::restarting() {
  if (state.core.now == supervisor_mode::running)
    state.core.now = supervisor_mode::restarting;
}

void supervisor_actor::on_report(const child_report& r) {
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
      s.ready_ns = r.at_ns ? r.at_ns : state.ctx->time->steady_ns();
      c.streak.ready(now());
      if (s.told_down) {
        s.told_down = false;
        send(state.ctx->coordinator, dep_up_atom::value, s.path);
      }
      if (s.failing)
        note_recovered(s, r);
      answer_restarts(i);
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

void supervisor_actor::maybe_grant(std::size_t i) {
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

void supervisor_actor::grant_all() {
  for (std::size_t i = 0; i < state.children.size(); ++i)
    maybe_grant(i);
}

void supervisor_actor::revoke(std::size_t i) {
  auto& c = state.core.children[i];
  if (!c.permitted)
    return;
  c.permitted = false;
  --state.core.granted;
  send(state.children[i].handle, revoke_atom::value);
}

void supervisor_actor::revoke_all() {
  for (std::size_t i = 0; i < state.children.size(); ++i)
    revoke(i);
}

void supervisor_actor::restarted(std::size_t i, const child_report& r) {
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
    give_up(s.path + " " + r.what.detail);
    return;
  }
  c.streak.failed(t, c.backoff.max);
  note(action_note(s.path, "restart",
                   std::string{to_string(state.spec->strategy)}
                     + ": restarted at once (pid " + std::to_string(r.pid)
                     + ")",
                   r.pid, r.at_ns));
  spdlog::warn("{}: restarting {} ({})", path(), s.path, r.what.detail);
}

void supervisor_actor::failure(std::size_t i, const child_report& r) {
  auto& s = state.children[i];
  child_failure e;
  e.child = i;
  e.mode = r.what.mode;
  e.kind = r.kind == report_kind::exited && r.what.signal == 0
               && r.what.code == 0
               && r.what.mode != config::failure_mode::ready_timeout
             ? exit_kind::normal
             : exit_kind::abnormal;
  e.noted = r.noted;
  e.playbooks = static_cast<bool>(state.ctx->coordinator);
  e.shortage
    = r.kind == report_kind::spawn_failed && runtime::is_shortage(r.what.code);
  std::uniform_real_distribution<double> jitter{-1.0, 1.0};
  auto d
    = decide(state.core, e, now(), jitter(state.rng), state.ctx->budget.get());
  auto awaited
    = [&] { return state.core.current && state.core.current->awaiting == i; };
  if (std::holds_alternative<decision::wait_for_dependency>(d)) {
    // A dependency of it is down: its failure is on record (caused by
    // the dependency's incident), and it is restarted once the
    // dependency is back (restart_dependents), not now.
    note_failed(s, r);
    spdlog::info("{}: {} {}; restarted once its dependency is back", path(),
                 s.path, r.what.detail);
    if (awaited())
      step_done();
    return;
  }
  if (std::holds_alternative<decision::hand_to_playbook>(d)) {
    // The child's `on:` names a playbook for this failure: the
    // coordinator runs it; the child stays down until it acts.
    failure_report f;
    f.path = s.path;
    f.what = r.what;
    f.state = instance_state::exited;
    f.at_ns = r.at_ns ? r.at_ns : state.ctx->time->steady_ns();
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
                 r.what.detail);
    if (no->abnormal) {
      // A failure nobody heals: on record, and closed as such.
      note_failed(s, r);
      s.failing = false;
      note(closed_note(s.path, runtime::incident_status::failed,
                       type + ": not restarted"));
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
    give_up(s.path + " " + r.what.detail);
    return;
  }
  counted_restart(i);
  auto detail = r.what.detail;
  auto failed_path = s.path;
  duration delay{};
  if (auto* alone = std::get_if<decision::restart_alone>(&d)) {
    // Beside any plan under way: no sibling's readiness holds it back.
    delay = alone->delay;
    plan one;
    one.starts = {i};
    note(action_note(failed_path, "restart", restart_detail(one, delay)));
    auto gen = s.lane_gen = ++state.lane_gen;
    if (delay > duration::zero())
      delayed_send(this, delay, resume_atom::value, s.path, gen);
    else
      start_alone(i);
  } else {
    auto& restart = std::get<decision::restart>(d);
    delay = restart.delay;
    restarting();
    note(
      action_note(failed_path, "restart", restart_detail(restart.next, delay)));
    run(std::move(restart.next));
  }
  // Logged once the restart is under way, not before; a start short of
  // resources is retried quietly (the child said what it is short of).
  spdlog::log(
    e.shortage ? spdlog::level::debug : spdlog::level::warn,
    "{}: restarting {} ({}){}", path(), failed_path, detail,
    delay > duration::zero()
      ? " in "
          + config::format_duration(
            std::chrono::duration_cast<std::chrono::milliseconds>(delay))
      : std::string{});
}

void supervisor_actor::start_alone(std::size_t i) {
  if (actors::start_alone(state.core, i))
    send(state.children[i].handle, start_atom::value);
}

void supervisor_actor::counted_restart(std::size_t i) {
  auto& s = state.children[i];
  ++s.restarts;
  if (state.ctx->metrics)
    state.ctx->metrics->restarted(s.path);
}

void supervisor_actor::run(plan p) {
  revoke_all();
  ++state.plan_gen;
  state.core.current = std::move(p);
  advance();
}

void supervisor_actor::advance() {
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

void supervisor_actor::finish() {
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
      r.what.code = 1;
      r.what.detail = "restart intensity exceeded (" + p.reason + ")";
      r.what.mode = config::failure_mode::restart_intensity_exceeded;
      r.at_ns = state.ctx->time->steady_ns();
      send(state.parent, std::move(r));
      return;
  }
}

void supervisor_actor::report(report_kind kind) {
  child_report r;
  r.path = path();
  r.kind = kind;
  r.at_ns = state.ctx->time->steady_ns();
  send(state.parent, std::move(r));
}

void supervisor_actor::note_failed(slot& s, const child_report& r) {
  s.failing = true;
  note(failed_note(s.path, r.what, r.at_ns));
}

void supervisor_actor::tell_down(slot& s, const child_report& r) {
  auto& topo = state.ctx->topology;
  if (!topo || !state.ctx->coordinator || !topo->has_dependents(s.path))
    return;
  s.told_down = true;
  send(state.ctx->coordinator, dep_down_atom::value, s.path, r.what.mode,
       r.what.detail, r.at_ns ? r.at_ns : state.ctx->time->steady_ns());
}

void supervisor_actor::note_recovered(slot& s, const child_report& r) {
  s.failing = false;
  auto* child = std::get_if<config::child_spec>(&s.spec->node);
  note(recovered_note(s.path,
                      child ? ready_rule(child->ready) : "all children ready",
                      r.pid, r.at_ns));
}

std::string supervisor_actor::ready_rule(const config::ready_spec& r) {
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

std::string supervisor_actor::restart_detail(const plan& p,
                                             duration delay) const {
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

} // namespace grace::actors::detail

namespace grace::actors {

using detail::supervisor_actor;

caf::actor spawn_supervisor(caf::event_based_actor* parent,
                            std::shared_ptr<const config::supervisor_spec> spec,
                            node_context_ptr ctx) {
  return parent->spawn<supervisor_actor, caf::monitored>(
    std::move(spec), std::move(ctx), caf::actor_cast<caf::actor>(parent));
}

} // namespace grace::actors
