// The cluster actor (cluster_actor.hpp): the operator's requests - the
// status of the whole cluster, a start, stop or restart passed on to the
// node that runs it, and a placed component moved to the first node of its
// list that is up.
#include <spdlog/spdlog.h>

#include "actors/cluster_actor.hpp"

namespace grace::actors::detail {

caf::result<bool> cluster_actor::pass_on(const std::string& verb,
                                         const std::string& who) {
  auto rp = make_response_promise<bool>();
  auto running = running_now();
  auto* on = placed_on(running, who);
  auto where = on ? *on : std::string{};
  // SPEC: a start places it on the first node of its list that is up.
  if (auto to = first_up(who);
      verb == "start" && !where.empty() && !to.empty() && to != where) {
    move(who, where, to, rp);
    return rp;
  }
  if (where.empty() || where == state.self) {
    rp.deliver(false);
    return rp;
  }
  auto& to = state.peers[where];
  if (!to.handle || !state.members->is_up(where)) {
    rp.deliver(
      grace_error(grace_errc::not_running, who + ": it runs on node " + where
                                             + ", which does not answer"));
    return rp;
  }
  spdlog::info("cluster: {} {}: passed on to node {}, which runs it", verb, who,
               where);
  request(to.handle, std::chrono::minutes{5}, peer_op_atom::value, verb, who)
    .then([rp](bool) mutable { rp.deliver(true); },
          [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
  return rp;
}

bool cluster_actor::from_a_member() {
  auto from = current_sender();
  if (!from)
    return false;
  for (auto& [name, p] : state.peers)
    if (p.handle && p.handle.node() == from->node())
      return state.members->is_up(name);
  return false;
}

caf::result<status_list, node_list>
cluster_actor::whole_status(status_list local) {
  auto running = running_now();
  struct gather {
    status_list rows;
    std::map<std::string, std::map<std::string, component_status>> theirs;
    node_list nodes;
    int pending = 0;
    caf::typed_response_promise<status_list, node_list> rp;
    std::string self;
    void finish() {
      for (auto& r : rows) {
        if (r.node == self || r.node.empty())
          continue;
        auto it = theirs.find(r.node);
        if (it == theirs.end() || !it->second.count(r.path)) {
          r.state = "unknown"; // its node did not answer
          r.late = true;
          r.pid = 0;
          r.ready_ns = 0;
          continue;
        }
        r = it->second[r.path];
      }
      rp.deliver(std::move(rows), std::move(nodes));
    }
  };
  auto g = std::make_shared<gather>();
  g->rp = make_response_promise<status_list, node_list>();
  g->self = state.self;
  g->rows = std::move(local);
  std::set<std::string> owners;
  for (auto& r : g->rows) {
    auto* where = placed_on(running, r.path);
    r.node = where ? *where : state.self;
    if (where && !where->empty() && *where != state.self)
      owners.insert(*where);
  }
  g->nodes.push_back({state.self, true, true, 0});
  for (auto& [name, p] : state.peers) {
    auto down = state.members->down_since(name);
    g->nodes.push_back({name, state.members->is_up(name), false,
                        down ? steady_ns_of(*down) : 0});
  }
  for (auto& owner : owners) {
    auto& p = state.peers[owner];
    if (!p.handle)
      continue;
    ++g->pending;
    request(p.handle, std::chrono::seconds{3}, peer_status_atom::value)
      .then(
        [this, g, owner](status_list& rows, std::int64_t their_now) {
          auto shift = state.opts.time->steady_ns() - their_now;
          for (auto& r : rows) {
            if (r.ready_ns > 0)
              r.ready_ns += shift;
            if (r.failed_ns > 0)
              r.failed_ns += shift;
            r.node = owner;
            g->theirs[owner][r.path] = r;
          }
          if (--g->pending == 0)
            g->finish();
        },
        [g, owner](caf::error& err) {
          spdlog::warn("cluster: node {} did not say what it runs: {}", owner,
                       error_text(err));
          if (--g->pending == 0)
            g->finish();
        });
  }
  if (g->pending == 0)
    g->finish();
  return g->rp;
}

std::string cluster_actor::first_up(const std::string& unit) const {
  if (!state.quorum)
    return {};
  for (auto& p : state.placed) {
    if (p.path != unit)
      continue;
    for (auto& n : p.nodes)
      if (n == state.self || state.members->is_up(n))
        return n;
  }
  return {};
}

void cluster_actor::move(const std::string& unit, const std::string& where,
                         const std::string& to, caf::response_promise rp) {
  spdlog::info("cluster: start {}: it moves from node {} to node {}, the "
               "first of its list that is up",
               unit, where, to);
  if (where == state.self) {
    yield(unit, to, std::move(rp));
    return;
  }
  auto& from = state.peers[where];
  if (!from.handle || !state.members->is_up(where)) {
    rp.deliver(
      grace_error(grace_errc::not_running, unit + ": it runs on node " + where
                                             + ", which does not answer"));
    return;
  }
  request(from.handle, std::chrono::minutes{5}, peer_op_atom::value,
          std::string{"yield"}, unit)
    .then([rp](bool) mutable { rp.deliver(true); },
          [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
}

void cluster_actor::yield(const std::string& unit, const std::string& to,
                          caf::response_promise rp) {
  stop({unit, cluster::stop_reason::moved, to},
       [rp](const caf::error& err) mutable {
         if (err)
           rp.deliver(err);
         else
           rp.deliver(true);
       });
}

} // namespace grace::actors::detail
