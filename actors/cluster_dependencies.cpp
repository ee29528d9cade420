// The cluster actor (cluster_actor.hpp): dependencies that cross nodes -
// followed as the heartbeats tell them, what waits for them released, and
// the coordinator told when one goes down and comes back.
#include <spdlog/spdlog.h>

#include "actors/cluster_actor.hpp"

namespace grace::actors::detail {

void cluster_actor::mark_unit(const std::string& unit, bool ready,
                              std::optional<cluster_fault> why) {
  for (auto& [dep, d] : state.deps) {
    if (d.unit != unit)
      continue;
    state.faults.erase(dep);
    state.local.erase(dep);
    if (why) {
      why->path = dep;
      state.faults[dep] = *why;
    }
    if (ready)
      state.ready.insert(dep);
    else
      state.ready.erase(dep);
  }
}

bool cluster_actor::ready_on(const std::string& dep, const std::string& unit,
                             const std::string& where) {
  if (where.empty())
    return false;
  if (where == state.self)
    return state.ready.count(dep) && !state.starting.count(unit)
           && !state.stopping.count(unit);
  return state.members->is_up(where) && state.peers[where].ready.count(dep);
}

void cluster_actor::follow_dependencies(
  const std::map<std::string, std::string>& running) {
  if (state.deps.empty())
    return;
  for (auto& [dep, d] : state.deps) {
    auto on = running.find(d.unit);
    auto where = on == running.end() ? std::string{} : on->second;
    auto up = ready_on(dep, d.unit, where);
    if (up)
      d.ready_on = where;
    if (d.ready == up || (!d.ready && !up))
      continue; // no change, or never ready yet: nothing waits on it
    auto first = !d.ready;
    d.ready = up;
    if (up) {
      spdlog::info("cluster: {} is ready on node {}", dep, where);
      if (!first && state.opts.coordinator)
        send(state.opts.coordinator, dep_up_atom::value, dep,
             remote_atom::value);
      continue;
    }
    auto [mode, detail, at] = why_down(dep, where, d.ready_on);
    spdlog::warn("cluster: {} is down ({}: {}): what depends on it here "
                 "waits for it",
                 dep, config::to_string(mode), detail);
    if (where == state.self && state.local.count(dep))
      continue; // the coordinator heard it from here
    if (state.opts.coordinator)
      send(state.opts.coordinator, dep_down_atom::value, dep, mode, detail,
           steady_ns_of(at), remote_atom::value);
  }
  release_waiting();
}

cluster_actor::down_reason cluster_actor::why_down(const std::string& dep,
                                                   const std::string& where,
                                                   const std::string& last) {
  using fm = config::failure_mode;
  auto t = now();
  if (!state.quorum)
    return {fm::partitioned, "node " + state.self + " has no quorum", t};
  if (last != state.self && !state.members->is_up(last))
    return {fm::node_down, "node " + last + " is down",
            state.peers[last].down_at.value_or(t)};
  // Why its node says it is down.
  const cluster_fault* fault = nullptr;
  if (where == state.self) {
    if (auto it = state.faults.find(dep); it != state.faults.end())
      fault = &it->second;
  } else if (!where.empty()) {
    for (auto& f : state.peers[where].faults)
      if (f.path == dep)
        fault = &f;
  }
  if (fault)
    return {config::from_string<fm>(fault->mode).value_or(fm::crashed),
            "on node " + where + ": " + fault->detail, t};
  if (where.empty())
    return {fm::exited, "it runs on no node", t};
  if (where != last)
    return {fm::exited, "stopped on node " + last + ", moving to node " + where,
            t};
  return {fm::exited, "not ready on node " + where, t};
}

bool cluster_actor::dependencies_ready(const std::string& who) {
  auto it = state.layout.gated.find(who);
  return it == state.layout.gated.end()
         || std::all_of(it->second.begin(), it->second.end(),
                        [&](const std::string& dep) {
                          return state.deps[dep].ready.value_or(false);
                        });
}

void cluster_actor::release_waiting() {
  for (auto it = state.deferred.begin(); it != state.deferred.end();) {
    if (!dependencies_ready(it->first)) {
      ++it;
      continue;
    }
    auto [path, failover] = *it;
    it = state.deferred.erase(it);
    place(path, failover);
  }
  if (!state.node)
    return;
  for (auto& [who, deps] : state.layout.gated) {
    if (state.layout.unit[who] == who || state.released.count(who)
        || !dependencies_ready(who))
      continue;
    state.released.insert(who);
    request(state.node, std::chrono::seconds{30}, op_atom::value,
            std::string{"release"}, who, local_atom::value)
      .then([](bool) {},
            [who](caf::error& err) {
              spdlog::error("cluster: {} not released: {}", who,
                            error_text(err));
            });
  }
}

} // namespace grace::actors::detail
