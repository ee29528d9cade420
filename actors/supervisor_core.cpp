#include "actors/supervisor_core.hpp"

#include <algorithm>
#include <functional>
#include <unordered_map>

#include "config/diff.hpp"
#include "playbooks/plan.hpp"

namespace grace::actors {

core_child make_core_child(const config::component_spec& spec,
                           const config::backoff_spec& default_backoff) {
  core_child c;
  if (auto* child = std::get_if<config::child_spec>(&spec.node)) {
    c.restart = child->restart;
    c.backoff = child->backoff;
    c.handed_over = playbooks::routed_to_playbooks(*child);
    c.fast_path_able = true; // a process; its I/O thread can respawn it
    c.placed = !child->nodes.empty();
  } else {
    auto& sup = std::get<config::supervisor_spec>(spec.node);
    c.restart = sup.restart;
    c.backoff = default_backoff;
    c.placed = !sup.nodes.empty();
  }
  c.held = c.placed;
  return c;
}

route route_of(const core_child& c, config::failure_mode mode, exit_kind kind,
               bool noted, bool playbooks) {
  if (c.waiting)
    return route::wait_for_dependency;
  if (!noted && playbooks && c.handed_over.count(mode))
    return route::playbook;
  if (!should_restart(c.restart, kind))
    return route::not_restarted;
  return route::restart;
}

admission admit(supervisor_core& core, restart_budget* budget, time_point now) {
  if (budget && !budget->take(now))
    return admission::budget_spent;
  if (!core.intensity.add_restart(now))
    return admission::intensity_exceeded;
  return admission::admitted;
}

namespace {

// A restart plan of `stops` and `starts`, with whatever the interrupted
// plan still had to stop or start (a stop of `i` only if `stop_it`).
plan folded_plan(const supervisor_core& core, std::size_t i, bool stop_it,
                 std::set<std::size_t, std::greater<>> stops,
                 std::set<std::size_t> starts) {
  plan p;
  p.why = purpose::restart;
  if (core.current && core.current->why != purpose::shutdown) {
    auto& old = *core.current;
    for (auto k = old.next_stop; k < old.stops.size(); ++k)
      if (old.stops[k] != i || stop_it)
        stops.insert(old.stops[k]);
    for (auto k = old.next_start; k < old.starts.size(); ++k)
      if (!core.children[old.starts[k]].removed)
        starts.insert(old.starts[k]);
  }
  p.stops.assign(stops.begin(), stops.end());
  p.starts.assign(starts.begin(), starts.end());
  return p;
}

} // namespace

plan restart_plan(supervisor_core& core, std::size_t i, bool stop_it,
                  duration delay) {
  auto& children = core.children;
  auto set = restart_set(core.strategy, i, children.size());
  std::set<std::size_t> starts;
  for (auto j : set) {
    auto& c = children[j];
    if (c.removed || c.held)
      continue;
    if (j != i && c.restart == config::restart_type::temporary) {
      // OTP: a temporary sibling the strategy terminates is not restarted.
      c.removed = true;
      continue;
    }
    starts.insert(j);
  }
  std::set<std::size_t, std::greater<>> stops;
  for (auto j : set)
    if (j != i || stop_it)
      stops.insert(j);
  auto p = folded_plan(core, i, stop_it, std::move(stops), std::move(starts));
  if (delay > duration::zero()) {
    p.delayed = i;
    p.delay = delay;
  }
  return p;
}

plan start_plan(const supervisor_core& core, std::size_t i) {
  return folded_plan(core, i, false, {}, {i});
}

plan shutdown_plan(std::size_t children, purpose why) {
  plan p;
  p.why = why;
  for (auto i = children; i-- > 0;)
    p.stops.push_back(i);
  return p;
}

plan_step next_step(supervisor_core& core) {
  while (core.current) {
    auto& p = *core.current;
    if (p.awaiting)
      return {plan_step::kind::await, *p.awaiting};
    if (p.next_stop < p.stops.size()) {
      auto j = p.stops[p.next_stop];
      auto& c = core.children[j];
      if (c.phase == slot_phase::stopped) {
        c.due = false; // a restart of its own is called off
        ++p.next_stop;
        continue;
      }
      c.phase = slot_phase::stopping;
      p.awaiting = j;
      return {plan_step::kind::stop, j};
    }
    if (p.next_start < p.starts.size()) {
      auto j = p.starts[p.next_start];
      auto& c = core.children[j];
      if (c.removed || c.held || c.phase == slot_phase::running) {
        ++p.next_start;
        continue;
      }
      p.awaiting = j;
      if (p.delayed == j && !p.delay_done)
        return {plan_step::kind::delay, j};
      if (c.phase != slot_phase::stopped || c.due)
        return {plan_step::kind::await, j}; // on its way up already
      c.phase = slot_phase::starting;
      return {plan_step::kind::start, j};
    }
    return {plan_step::kind::done, 0};
  }
  return {plan_step::kind::done, 0};
}

void step_done(supervisor_core& core) {
  auto& p = *core.current;
  p.awaiting.reset();
  if (p.next_stop < p.stops.size())
    ++p.next_stop;
  else
    ++p.next_start;
}

reload_map map_reload(const config::supervisor_spec& before,
                      const config::supervisor_spec& after) {
  reload_map m;
  std::vector<bool> used(before.children.size(), false);
  std::unordered_map<std::string, std::size_t> at; // name -> old index
  for (std::size_t i = 0; i < before.children.size(); ++i)
    at[before.children[i].name()] = i;
  for (auto& c : after.children) {
    std::optional<std::size_t> old;
    if (auto it = at.find(c.name());
        it != at.end()
        && before.children[it->second].is_supervisor() == c.is_supervisor())
      old = it->second;
    auto replaced = false;
    if (old) {
      used[*old] = true;
      auto* was = std::get_if<config::child_spec>(&before.children[*old].node);
      auto* now = std::get_if<config::child_spec>(&c.node);
      replaced = was && now && !config::same_child(*was, *now);
    }
    m.continues.push_back(old);
    m.replaced.push_back(replaced);
  }
  for (std::size_t i = 0; i < before.children.size(); ++i)
    if (!used[i])
      m.removed.push_back(i);
  return m;
}

void apply_reload(supervisor_core& core, const reload_map& m,
                  const config::supervisor_spec& before,
                  const config::supervisor_spec& after,
                  const config::backoff_spec& default_backoff) {
  if (before.intensity != after.intensity || before.period != after.period)
    core.intensity = restart_intensity{after.intensity, after.period};
  core.strategy = after.strategy;
  std::vector<core_child> next;
  for (std::size_t k = 0; k < after.children.size(); ++k) {
    auto& spec = after.children[k];
    auto c = make_core_child(spec, default_backoff);
    if (auto old = m.continues[k]) {
      auto& was = core.children[*old];
      if (spec.is_supervisor())
        c.backoff = was.backoff;
      c.streak = was.streak;
      c.phase = was.phase;
      c.removed = was.removed;
      c.held = was.held;
      c.waiting = was.waiting;
      c.due = was.due;
    }
    if (!m.continues[k] || m.replaced[k]) {
      c.phase = slot_phase::stopped;
      c.due = false; // the reload starts it
    }
    next.push_back(std::move(c));
  }
  core.children = std::move(next);
  core.granted = 0; // the actor withdrew every permit first
}

failure_decision decide(supervisor_core& core, const child_failure& e,
                        time_point now, double random, restart_budget* budget) {
  auto& c = core.children[e.child];
  switch (route_of(c, e.mode, e.kind, e.noted, e.playbooks)) {
    case route::wait_for_dependency:
      return decision::wait_for_dependency{};
    case route::playbook:
      return decision::hand_to_playbook{};
    case route::not_restarted:
      if (c.restart == config::restart_type::temporary)
        c.removed = true;
      return decision::not_restarted{e.kind == exit_kind::abnormal};
    case route::restart:
      break;
  }
  switch (e.shortage ? admission::admitted : admit(core, budget, now)) {
    case admission::budget_spent:
      c.held = true;
      return decision::hold{};
    case admission::intensity_exceeded:
      return decision::give_up{};
    case admission::admitted:
      break;
  }
  auto streak = c.streak.failed(now, c.backoff.max);
  auto delay = backoff_delay(c.backoff, streak, random);
  if (core.strategy == config::strategy::one_for_one) {
    c.due = true;
    return decision::restart_alone{e.child, delay};
  }
  return decision::restart{restart_plan(core, e.child, false, delay), delay};
}

bool start_alone(supervisor_core& core, std::size_t i) {
  auto& c = core.children[i];
  if (!c.due)
    return false;
  c.due = false;
  if (!supervising(core.now) || c.removed || c.held
      || c.phase != slot_phase::stopped)
    return false;
  c.phase = slot_phase::starting;
  return true;
}

std::optional<permit_terms> permit(const supervisor_core& core, std::size_t i,
                                   time_point now) {
  if (core.now != supervisor_mode::running || core.current)
    return std::nullopt;
  auto& c = core.children[i];
  if (c.permitted || c.phase != slot_phase::running || c.removed || c.held
      || c.due || !c.fast_path_able)
    return std::nullopt;
  // Every exit the I/O thread would see must take the restart route.
  using fm = config::failure_mode;
  for (auto mode : {fm::crashed, fm::exited, fm::port_in_use})
    if (route_of(c, mode, exit_kind::abnormal, false, true) != route::restart)
      return std::nullopt;
  std::vector<bool> startable;
  startable.reserve(core.children.size());
  for (auto& other : core.children)
    startable.push_back(!other.removed && !other.held);
  if (!restarts_alone(core.strategy, i, startable))
    return std::nullopt;
  if (core.intensity.restarts_in_window(now) + core.granted + 1
      > static_cast<std::size_t>(std::max(0, core.intensity.limit())))
    return std::nullopt;
  auto from = c.streak.immediate_from(c.backoff);
  if (!from)
    return std::nullopt;
  return permit_terms{c.restart == config::restart_type::permanent, *from};
}

} // namespace grace::actors
