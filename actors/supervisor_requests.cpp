// The supervisor actor (supervisor_actor.hpp): what others ask of it -
// restarts and starts by the coordinator, stops and holds, `grace reload`,
// `grace status` and the operator's start, stop and restart.
#include <map>
#include <memory>

#include <spdlog/spdlog.h>

#include "actors/supervisor_actor.hpp"

namespace grace::actors::detail {

std::optional<std::size_t>
supervisor_actor::child_asked_for(const std::string& who,
                                  caf::response_promise& rp) {
  if (auto it = state.index.find(who); it != state.index.end())
    return it->second;
  rp.deliver(grace_error(grace_errc::no_such_component,
                         who + ": no such child of " + path()));
  return std::nullopt;
}

bool supervisor_actor::placed_elsewhere(std::size_t i, const std::string& who,
                                        caf::response_promise& rp) {
  auto& c = state.core.children[i];
  if (!c.placed || c.here)
    return false;
  rp.deliver(grace_error(grace_errc::elsewhere,
                         who + ": the cluster places it on another node"));
  return true;
}

void supervisor_actor::restart_requested(const std::string& who,
                                         caf::response_promise rp) {
  auto refuse = [&](grace_errc code, const std::string& why) {
    rp.deliver(grace_error(code, who + ": " + why));
  };
  auto found = child_asked_for(who, rp);
  if (!found)
    return;
  auto i = *found;
  auto& s = state.children[i];
  auto& c = state.core.children[i];
  if (!supervising(state.core.now))
    return refuse(grace_errc::not_supervising,
                  "its supervisor is stopping or gave up");
  if (c.removed || (c.held && !awaits_release(c)))
    return refuse(grace_errc::not_running, "it is not running");
  // (A component still waiting for its first start: its dependency on
  // another node failed before it was ever ready, and is back.)
  c.held = c.gated = c.waiting = false;
  auto admitted = admit(state.core, state.ctx->budget.get(), now());
  if (admitted == admission::budget_spent)
    return refuse(grace_errc::budget_spent,
                  "the node's restart budget is spent (" + budget_text() + ")");
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

void supervisor_actor::start_requested(const std::string& who,
                                       caf::response_promise rp) {
  auto found = child_asked_for(who, rp);
  if (!found)
    return;
  if (!supervising(state.core.now)) {
    rp.deliver(grace_error(grace_errc::not_supervising,
                           who + ": its supervisor is not running"));
    return;
  }
  auto i = *found;
  auto& s = state.children[i];
  auto& c = state.core.children[i];
  if (placed_elsewhere(i, who, rp))
    return;
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
      rp.deliver(grace_error(grace_errc::budget_spent,
                             who + ": the node's restart budget is spent ("
                               + budget_text() + ")"));
      return;
    case admission::intensity_exceeded:
      rp.deliver(grace_error(grace_errc::intensity_exceeded,
                             who + ": restart intensity exceeded"));
      give_up(s.path + " started again by a playbook");
      return;
    case admission::admitted:
      break;
  }
  c.held = c.gated = false;
  c.removed = false;
  counted_restart(i);
  state.restart_waiters.emplace_back(i, std::move(rp));
  auto p = restart_plan(state.core, i, false, duration::zero());
  restarting();
  run(std::move(p));
}

void supervisor_actor::stop_requested(const std::string& who,
                                      caf::response_promise rp) {
  auto found = child_asked_for(who, rp);
  if (!found)
    return;
  auto i = *found;
  auto& s = state.children[i];
  auto& c = state.core.children[i];
  c.held = true;
  c.gated = false; // the operator's hold from now on
  revoke(i);
  // Its restart or start asked for will not happen.
  settle(state.restart_waiters, i,
         grace_error(grace_errc::stopped, who + ": stopped"));
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

bool supervisor_actor::awaits_release(const core_child& c) {
  return c.gated && c.held && !(c.placed && !c.here);
}

void supervisor_actor::release(std::size_t i) {
  auto& c = state.core.children[i];
  auto waited = awaits_release(c);
  c.gated = false;
  if (!waited || !supervising(state.core.now))
    return; // it starts with its supervisor, or where it is placed
  c.held = false;
  spdlog::info("{}: starting {}: what it depends on is ready on a node of "
               "the cluster",
               path(), state.children[i].path);
  auto p = start_plan(state.core, i);
  restarting();
  run(std::move(p));
}

std::string supervisor_actor::budget_text() const {
  auto& b = *state.ctx->budget;
  return std::to_string(b.restarts()) + " restarts within "
         + config::format_duration(
           std::chrono::duration_cast<std::chrono::milliseconds>(b.period()));
}

void supervisor_actor::budget_hold(std::size_t i, const child_report& r) {
  auto& s = state.children[i];
  s.failing = false; // held by decide()
  auto why = "the node's restart budget is spent (" + budget_text()
             + "): held instead of restarted";
  spdlog::error("{}: {} {}; {}", path(), s.path, r.what.detail, why);
  auto n = closed_note(s.path, runtime::incident_status::held, why);
  n.severity = config::severity::critical;
  note(std::move(n));
  if (state.core.current && state.core.current->awaiting == i)
    step_done();
}

bool supervisor_actor::coming_up(std::size_t i) const {
  auto& c = state.core.children[i];
  if (c.phase == slot_phase::starting || c.due)
    return true;
  if (!state.core.current || state.core.current->why == purpose::shutdown
      || state.core.current->why == purpose::give_up)
    return false;
  auto& p = *state.core.current;
  return std::find(p.starts.begin() + static_cast<std::ptrdiff_t>(p.next_start),
                   p.starts.end(), i)
         != p.starts.end();
}

void supervisor_actor::publish(const child_report& r) {
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
  send(state.ctx->events, event_atom::value, r.path, what, r.pid,
       r.what.detail);
}

void supervisor_actor::reload(const spec_update& u) {
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

void supervisor_actor::retire(slot& s) {
  if (!s.handle)
    return;
  spdlog::info("{}: {} goes (reload)", path(), s.path);
  ++state.retiring;
  state.retired.push_back(s.handle);
  send(s.handle, stop_atom::value);
  s.handle = nullptr;
}

void supervisor_actor::start_reloaded() {
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

void supervisor_actor::answer_reloads(const caf::error& failed) {
  for (auto& rp : state.reload_waiters)
    failed ? rp.deliver(failed) : rp.deliver(true);
  state.reload_waiters.clear();
}

std::string supervisor_actor::slot_state(const core_child& s) {
  if (s.removed)
    return "done";
  if (awaits_release(s))
    return "waiting"; // for a dependency on another node
  if (s.held)
    return "held";
  if (s.waiting)
    return "waiting";
  if (s.due)
    return "restarting"; // its backoff runs
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

std::string supervisor_actor::mode_text() const {
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

caf::result<status_list>
supervisor_actor::status(std::chrono::milliseconds budget) {
  using std::chrono::milliseconds;
  // A nested supervisor has three quarters of this one's budget, so that its
  // answer, late parts marked, comes in before this one gives up on it.
  budget = std::max(budget, milliseconds{100});
  auto nested_budget = budget * 3 / 4;
  auto probes_wait = std::min<milliseconds>(budget, std::chrono::seconds{2});
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
    auto k = g->parts.size();
    g->parts.push_back({e});
    if (!c.handle)
      continue;
    if (!e.supervisor) {
      auto* child = std::get_if<config::child_spec>(&c.spec->node);
      if (!child || child->probes.empty())
        continue;
      ++g->pending;
      request(c.handle, probes_wait, status_atom::value)
        .then(
          [g, k](const std::string& probes) {
            g->parts[k].front().probes = probes;
            if (--g->pending == 0)
              g->finish();
          },
          [g, k](caf::error&) {
            g->parts[k].front().late = true;
            if (--g->pending == 0)
              g->finish();
          });
      continue;
    }
    ++g->pending;
    request(c.handle, budget, status_atom::value,
            static_cast<std::int64_t>(nested_budget.count()))
      .then(
        [g, k, e](status_list& sub) {
          if (!sub.empty()) {
            // Its own view of itself, with what this supervisor counted.
            sub.front().restarts = e.restarts;
            sub.front().ready_ns = e.ready_ns;
            if (e.state == "held" || e.state == "waiting")
              sub.front().state = e.state;
            g->parts[k] = std::move(sub);
          }
          if (--g->pending == 0)
            g->finish();
        },
        [g, k](caf::error&) {
          g->parts[k].front().late = true;
          if (--g->pending == 0)
            g->finish();
        });
  }
  if (g->pending == 0)
    g->finish();
  return g->rp;
}

caf::result<bool> supervisor_actor::operate(const std::string& verb,
                                            const std::string& who) {
  auto rp = make_response_promise<bool>();
  auto it = state.index.find(who);
  if (it == state.index.end()) {
    for (auto& c : state.children)
      if (c.spec->is_supervisor() && c.handle
          && who.starts_with(c.path + "/")) {
        request(c.handle, std::chrono::minutes{5}, op_atom::value, verb, who)
          .then([rp](bool ok) mutable { rp.deliver(ok); },
                [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
        return rp;
      }
    rp.deliver(
      grace_error(grace_errc::no_such_component, "no component " + who));
    return rp;
  }
  auto i = it->second;
  auto& c = state.core.children[i];
  // The cluster places a component here, or takes it away (cluster_node).
  if ((verb == "place" || verb == "unplace") && c.placed) {
    c.here = verb == "place";
    spdlog::info("{}: {} {} (placed {} by the cluster)", path(),
                 c.here ? "starting" : "stopping", who,
                 c.here ? "here" : "elsewhere");
    if (!c.here) {
      stop_requested(who, rp);
      return rp;
    }
    // The cluster places it once what it depends on is ready.
    c.gated = false;
  } else if (verb == "release") {
    release(i);
    rp.deliver(true);
    return rp;
  } else if (verb == "stop") {
    spdlog::info("{}: stopping {} (asked to by the operator)", path(), who);
    stop_requested(who, rp);
    return rp;
  } else if (verb != "start" && verb != "restart") {
    rp.deliver(
      grace_error(grace_errc::unknown_operation, "unknown operation " + verb));
    return rp;
  } else if (placed_elsewhere(i, who, rp)) {
    return rp;
  }
  if (!supervising(state.core.now)) {
    rp.deliver(
      grace_error(grace_errc::not_supervising,
                  who + ": its supervisor " + path() + " is " + mode_text()));
    return rp;
  }
  // The operator's start and restart (and the cluster's placing) release a
  // hold and do not count toward the restart intensity or the node's budget.
  c.held = c.removed = c.waiting = c.gated = false;
  auto restart = verb == "restart";
  if (!restart && c.phase == slot_phase::running) {
    rp.deliver(true);
    return rp;
  }
  state.restart_waiters.emplace_back(i, rp);
  if (!restart && c.phase == slot_phase::starting)
    return rp;
  if (verb != "place")
    spdlog::info("{}: {} {} (asked to by the operator)", path(),
                 restart ? "restarting" : "starting", who);
  auto p = verb == "place"
             ? start_plan(state.core, i)
             : restart_plan(state.core, i, restart, duration::zero());
  restarting();
  run(std::move(p));
  return rp;
}

void supervisor_actor::answer_restarts(std::size_t i) {
  settle(state.restart_waiters, i, true);
}

void supervisor_actor::refuse_restarts(const caf::error& why) {
  settle(state.fresh_waiters, std::nullopt, why);
  settle(state.restart_waiters, std::nullopt, why);
}

void supervisor_actor::give_up(const std::string& why,
                               const std::string& reason) {
  auto& spec = *state.spec;
  auto hold = spec.on_exhausted == config::exhausted_action::hold;
  auto exceeded = "restart intensity exceeded (more than "
                  + std::to_string(spec.intensity) + " restarts in "
                  + config::format_duration(spec.period) + ")";
  spdlog::error("{}: {}; last failure: {}; {}", path(), exceeded, why,
                hold ? "holding the subtree stopped" : "giving up");
  state.core.now = supervisor_mode::giving_up;
  refuse_restarts(
    grace_error(grace_errc::intensity_exceeded, "restart intensity exceeded"));
  answer_reloads(
    grace_error(grace_errc::gave_up,
                path() + (hold ? " holds its subtree stopped: " : " gave up: ")
                  + exceeded + "; last failure: " + why));
  for (auto& c : state.children)
    c.failing = false;
  // Escalated, the parent records this supervisor's failure; held, nobody
  // above hears of it, so it is recorded here, closed held with the rest.
  if (hold)
    note(failed_note(path(), config::failure_mode::restart_intensity_exceeded,
                     exceeded + "; last failure: " + why));
  note(closed_note(path(),
                   hold ? runtime::incident_status::held
                        : runtime::incident_status::escalated,
                   !reason.empty() ? reason : exceeded, true));
  auto p = shutdown_plan(state.children.size(), purpose::give_up);
  p.reason = why;
  run(std::move(p));
}

} // namespace grace::actors::detail
