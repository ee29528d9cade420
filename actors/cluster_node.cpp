// The cluster actor (cluster_actor.hpp): connections to the other nodes,
// heartbeats, the membership, and placement's decisions carried out.
#include <algorithm>

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <spdlog/spdlog.h>

#include "actors/cluster_actor.hpp"
#include "runtime/incident.hpp"

namespace grace::actors {

namespace detail {

namespace {

// The failure a cluster records for a placed component: `mode` with `node`
// among its fields.
component_failure cluster_failure(config::failure_mode mode, std::string detail,
                                  const std::string& node) {
  component_failure what;
  what.mode = mode;
  what.detail = std::move(detail);
  what.fields.texts.emplace_back("node", node);
  return what;
}

// Every component (or subtree) with `nodes:`, in the tree's order.
void collect_placed(const config::supervisor_spec& sup,
                    std::vector<cluster::placed>& out) {
  auto names = [](const std::vector<config::reference>& refs) {
    std::vector<std::string> v;
    for (auto& r : refs)
      v.push_back(r.name);
    return v;
  };
  for (auto& c : sup.children) {
    if (auto* child = std::get_if<config::child_spec>(&c.node)) {
      if (!child->nodes.empty())
        out.push_back({child->path, names(child->nodes)});
      continue;
    }
    auto& nested = std::get<config::supervisor_spec>(c.node);
    if (!nested.nodes.empty())
      out.push_back({nested.path, names(nested.nodes)});
    else
      collect_placed(nested, out);
  }
}

} // namespace

cluster_actor::cluster_actor(caf::actor_config& cfg, cluster_options opts)
    : caf::stateful_actor<cluster_state>(cfg) {
  auto& spec = *opts.config->cluster;
  state.self = spec.node;
  state.started_us = opts.time->wall_us();
  state.heartbeat = std::chrono::duration_cast<milliseconds>(spec.heartbeat);
  state.rules.quorum = spec.quorum;
  state.rules.failback = spec.failback;
  state.rules.down_after
    = std::chrono::duration_cast<milliseconds>(spec.down_after);
  collect_placed(opts.config->root, state.placed);
  state.layout = config::layout_of(*opts.config);
  for (auto& [dep, unit] : state.layout.shared)
    state.deps[dep].unit = unit;
  std::vector<std::string> names;
  bool after_self = false;
  for (auto& n : spec.nodes) {
    names.push_back(n.name);
    if (n.name == state.self) {
      after_self = true;
      continue;
    }
    auto& p = state.peers[n.name];
    p.host = n.address.host;
    p.port = n.address.port;
    p.dials = after_self;
  }
  state.opts = std::move(opts);
  state.members.emplace(state.self, names, state.rules.down_after, now());
}

caf::behavior cluster_actor::make_behavior() {
  log_stray_messages(this);
  set_down_handler([this](caf::down_msg& dm) { connection_lost(dm); });
  send(this, tick_atom::value);
  if (state.opts.coordinator)
    send(state.opts.coordinator, register_atom::value,
         caf::actor_cast<caf::actor>(this));
  return {
    [this](register_atom, caf::actor node) {
      state.node = std::move(node);
      decide();
    },
    [this](tick_atom) {
      beat();
      connect();
      decide();
      delayed_send(this, state.heartbeat, tick_atom::value);
      watch_deadlines();
    },
    [this](deadline_atom) { decide(); },
    // A dependency of other nodes' components failed here, or is back.
    [this](dep_down_atom, const std::string& path, config::failure_mode mode,
           const std::string& detail) {
      if (!runs_here(path))
        return;
      state.ready.erase(path);
      state.faults[path] = {path, std::string{config::to_string(mode)}, detail};
      state.local.insert(path);
      tell_dependents();
    },
    [this](dep_up_atom, const std::string& path) {
      if (!runs_here(path) || state.starting.count(state.deps[path].unit))
        return;
      state.ready.insert(path);
      state.faults.erase(path);
      state.local.erase(path);
      tell_dependents();
    },
    [this](stop_atom) { state.stopping_node = true; },
    [this](cluster_heartbeat& hb) { heard(std::move(hb)); },
    [this](status_atom,
           status_list& local) -> caf::result<status_list, node_list> {
      return whole_status(std::move(local));
    },
    // The operator's start, stop or restart of `who`: passed on to the
    // node that runs it (true), or false: this node's to carry out.
    [this](op_atom, const std::string& verb, const std::string& who)
      -> caf::result<bool> { return pass_on(verb, who); },
    // Another node passes the operator's request on to this one.
    [this](peer_op_atom, const std::string& verb,
           const std::string& who) -> caf::result<bool> {
      auto member = from_a_member(); // before the promise takes the sender
      auto rp = make_response_promise<bool>();
      if (!state.node || !member) {
        rp.deliver(grace_error(grace_errc::unknown_operation,
                               "not a node of this cluster"));
        return rp;
      }
      if (verb == "yield") {
        yield(who, first_up(who), rp);
        return rp;
      }
      request(state.node, std::chrono::minutes{5}, op_atom::value, verb, who,
              local_atom::value)
        .then([rp](bool ok) mutable { rp.deliver(ok); },
              [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
      return rp;
    },
    // Another node asks what this one runs, with this node's steady now
    // (its rows' times are converted to the asking node's clock).
    [this](peer_status_atom) -> caf::result<status_list, std::int64_t> {
      // (Before the promise, which takes the sender over.)
      auto member = from_a_member();
      auto rp = make_response_promise<status_list, std::int64_t>();
      if (!state.node || !member) {
        rp.deliver(status_list{}, state.opts.time->steady_ns());
        return rp;
      }
      request(state.node, std::chrono::milliseconds{2500}, status_atom::value,
              local_atom::value)
        .then(
          [this, rp](status_list& l) mutable {
            rp.deliver(std::move(l), state.opts.time->steady_ns());
          },
          [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
      return rp;
    },
  };
}

time_point cluster_actor::now() const {
  return time_point{std::chrono::nanoseconds{state.opts.time->steady_ns()}};
}

cluster_heartbeat cluster_actor::heartbeat() const {
  cluster_heartbeat hb;
  hb.node = state.self;
  hb.digest = state.opts.config->digest;
  hb.started_us = state.started_us;
  for (auto& [path, epoch] : state.mine)
    hb.claims.push_back({path, epoch});
  hb.ready.assign(state.ready.begin(), state.ready.end());
  for (auto& [path, fault] : state.faults)
    hb.faults.push_back(fault);
  return hb;
}

void cluster_actor::beat() {
  auto hb = heartbeat();
  for (auto& [name, p] : state.peers)
    if (p.handle)
      send(p.handle, hb);
}

void cluster_actor::connect() {
  auto mm = state.opts.config->cluster->tls
              ? system().openssl_manager().actor_handle()
              : system().middleman().actor_handle();
  for (auto& [name, p] : state.peers) {
    if (!p.dials || p.handle || p.connecting || now() < p.retry_at)
      continue;
    p.connecting = true;
    request(mm, std::chrono::seconds{2}, caf::connect_atom::value, p.host,
            p.port)
      .then(
        [this, name = name](const caf::node_id&, caf::strong_actor_ptr& ptr,
                            const std::set<std::string>&) {
          auto& to = state.peers[name];
          to.connecting = false;
          if (!ptr || to.handle)
            return;
          to.handle = caf::actor_cast<caf::actor>(std::move(ptr));
          to.lost_logged = false;
          to.last_error.clear();
          monitor(to.handle);
          spdlog::debug("cluster: connected to node {} at {}:{}", name, to.host,
                        to.port);
          send(to.handle, heartbeat());
        },
        [this, name = name](caf::error& err) {
          auto& to = state.peers[name];
          to.connecting = false;
          // Logged once per kind of failure: a node that is not there
          // yet quietly, one that answers and is refused (its TLS
          // certificate, another protocol) as a warning.
          auto why = to_string(err);
          auto absent = err == caf::sec::cannot_connect_to_node;
          if (!absent)
            to.retry_at = now() + std::chrono::seconds{5};
          if (why == to.last_error)
            return;
          to.last_error = why;
          if (absent)
            spdlog::debug("cluster: cannot reach node {} at {}:{}: {}", name,
                          to.host, to.port, why);
          else
            spdlog::warn("cluster: node {} at {}:{} refused: {}", name, to.host,
                         to.port, why);
        });
  }
}

void cluster_actor::connection_lost(const caf::down_msg& dm) {
  for (auto& [name, p] : state.peers)
    if (p.handle && p.handle.address() == dm.source) {
      p.handle = nullptr;
      if (!p.lost_logged)
        spdlog::info("cluster: connection to node {} lost ({})", name,
                     to_string(dm.reason));
      p.lost_logged = true;
    }
}

void cluster_actor::heard(cluster_heartbeat hb) {
  auto it = state.peers.find(hb.node);
  if (it == state.peers.end()) {
    if (state.refused.insert(hb.node).second)
      spdlog::error("cluster: a heartbeat from '{}', which is {}: dropped",
                    hb.node,
                    hb.node == state.self ? "this node's own name"
                                          : "not a node of this cluster");
    return;
  }
  auto& p = it->second;
  if (hb.digest != state.opts.config->digest) {
    refuse(hb);
    return;
  }
  if (!p.handle) {
    // It dialled this node: answer on its connection.
    p.handle = caf::actor_cast<caf::actor>(current_sender());
    if (p.handle)
      monitor(p.handle);
  }
  auto was_up = state.members->is_up(hb.node);
  state.members->heard(hb.node, now());
  if (!was_up) {
    spdlog::info("cluster: node {} is up", hb.node);
    p.down_at.reset();
  }
  std::map<std::string, std::uint64_t> claims;
  for (auto& c : hb.claims)
    claims[c.path] = c.epoch;
  std::set<std::string> ready(hb.ready.begin(), hb.ready.end());
  // Nothing new (most heartbeats): the next tick decides.
  if (was_up && claims == p.claims && ready == p.ready && hb.faults == p.faults)
    return;
  p.claims = std::move(claims);
  p.ready = std::move(ready);
  p.faults = std::move(hb.faults);
  decide();
}

void cluster_actor::refuse(const cluster_heartbeat& hb) {
  auto& ours = state.opts.config->digest;
  auto later
    = std::tie(state.started_us, state.self) > std::tie(hb.started_us, hb.node);
  if (state.leaving)
    return;
  if (later) {
    state.leaving = true;
    spdlog::critical("cluster: this node's config (digest {}) differs from "
                     "node {}'s (digest {}): refused to join; grace stops "
                     "(exit 2)",
                     ours, hb.node, hb.digest);
    state.stopping_node = true;
    if (state.node)
      send(state.node, stop_atom::value, 2);
    return;
  }
  if (state.refused.insert(hb.node).second)
    spdlog::error("cluster: node {} runs another config (digest {}; this "
                  "node's is {}): refused, nothing it sends is acted on",
                  hb.node, hb.digest, ours);
  // It may have no connection to this node yet: tell it on its own.
  if (auto back = caf::actor_cast<caf::actor>(current_sender()))
    send(back, heartbeat());
}

void cluster_actor::watch_deadlines() {
  auto t = now();
  for (auto& [name, p] : state.peers)
    if (auto d = state.members->deadline(name); d && *d < t + state.heartbeat)
      delayed_send(this,
                   std::chrono::duration_cast<std::chrono::nanoseconds>(
                     *d - t + std::chrono::milliseconds{1}),
                   deadline_atom::value);
}

cluster::view cluster_actor::current_view(time_point t) const {
  cluster::view v;
  v.self = state.self;
  v.up = state.members->up(t);
  for (auto& [path, epoch] : state.mine)
    v.claims[path].push_back({state.self, epoch});
  for (auto& [name, p] : state.peers)
    for (auto& [path, epoch] : p.claims)
      v.claims[path].push_back({name, epoch});
  return v;
}

void cluster_actor::decide() {
  auto t = now();
  for (auto& gone : state.members->tick(t)) {
    spdlog::warn("cluster: node {} is down (silent for {} ms)", gone.node,
                 state.rules.down_after.count());
    auto& p = state.peers[gone.node];
    p.down_at = gone.at;
    // Its connection may be half open (its machine gone): dialled afresh.
    if (p.handle) {
      demonitor(p.handle);
      p.handle = nullptr;
    }
  }
  if (!state.node || state.placed.empty())
    return;
  auto v = current_view(t);
  auto d = cluster::decide(state.rules, state.placed, v);
  if (d.quorum != state.quorum) {
    state.quorum = d.quorum;
    state.quorum_since = t;
    if (d.quorum)
      spdlog::info("cluster: quorum ({} of {} nodes up, {} needed)",
                   v.up.size(), state.peers.size() + 1, state.rules.quorum);
    else
      spdlog::warn("cluster: no quorum ({} of {} nodes up, {} needed): "
                   "what another node may take over stops here",
                   v.up.size(), state.peers.size() + 1, state.rules.quorum);
  }
  auto running = running_on(d, v);
  log_moves(running);
  for (auto& s : d.stops)
    stop(s);
  // A node that has just formed a quorum first hears where things run
  // (every node it reaches has sent a heartbeat), then starts anything.
  if (!state.stopping_node && t - state.quorum_since >= 2 * state.heartbeat)
    for (auto& s : d.starts)
      start(s);
  settle_fenced(d.quorum, running);
  follow_dependencies(running);
}

bool cluster_actor::runs_here(const std::string& path) {
  auto it = state.deps.find(path);
  return it != state.deps.end() && state.mine.count(it->second.unit)
         && !state.stopping.count(it->second.unit);
}

void cluster_actor::tell_dependents() {
  beat();
  follow_dependencies(running_now());
}

std::map<std::string, std::string> cluster_actor::running_now() const {
  auto v = current_view(now());
  return running_on(cluster::decide(state.rules, state.placed, v), v);
}

std::map<std::string, std::string>
cluster_actor::running_on(const cluster::decision& d, const cluster::view& v) {
  std::map<std::string, std::string> out;
  for (auto& [path, owner] : d.owner) {
    auto claims = v.claims.find(path);
    bool claimed = claims != v.claims.end()
                   && std::any_of(
                     claims->second.begin(), claims->second.end(),
                     [&](const cluster::claim& c) { return c.node == owner; });
    out[path] = claimed ? owner : std::string{};
  }
  return out;
}

void cluster_actor::log_moves(
  const std::map<std::string, std::string>& running) {
  for (auto& [path, where] : running) {
    auto& seen = state.seen_on[path];
    if (where == seen)
      continue;
    seen = where;
    if (!where.empty() && where != state.self)
      spdlog::info("cluster: {} runs on node {}", path, where);
  }
}

void cluster_actor::start(const cluster::start& s) {
  if (state.mine.count(s.path))
    return;
  state.mine[s.path] = s.epoch;
  state.starting.insert(s.path);
  bool failover = s.why == cluster::start_reason::failover;
  if (failover) // what depends on it hears why from the node taking over
    mark_unit(s.path, false,
              cluster_fault{
                {},
                std::string{config::to_string(config::failure_mode::node_down)},
                "node " + s.from + " is down"});
  beat(); // the others learn of it now, not at the next heartbeat
  auto& time = *state.opts.time;
  auto& tracker = state.opts.tracker;
  if (failover) {
    spdlog::warn("cluster: starting {} here: node {} that ran it is down",
                 s.path, s.from);
    auto at = state.peers[s.from].down_at.value_or(now());
    auto note
      = failed_note(s.path,
                    cluster_failure(config::failure_mode::node_down,
                                    "node " + s.from + " is down", s.from),
                    steady_ns_of(at));
    note.playbook = "failover";
    send_note(this, tracker, time, std::move(note));
    send_note(
      this, tracker, time,
      action_note(s.path, "start",
                  "on node " + state.self + ", failover from node " + s.from));
  } else {
    spdlog::info("cluster: starting {} here", s.path);
  }
  if (!dependencies_ready(s.path)) {
    spdlog::info("cluster: {} starts here once what it depends on is ready",
                 s.path);
    state.deferred[s.path] = failover;
    return;
  }
  place(s.path, failover);
}

void cluster_actor::place(const std::string& path, bool failover) {
  if (state.opts.coordinator)
    send(state.opts.coordinator, here_atom::value, path, true);
  request(state.node, std::chrono::minutes{5}, op_atom::value,
          std::string{"place"}, path, local_atom::value)
    .then(
      [this, path, failover](bool) {
        state.starting.erase(path);
        spdlog::info("cluster: {} runs here", path);
        if (state.mine.count(path) && !state.stopping.count(path)) {
          mark_unit(path, true);
          tell_dependents();
        }
        if (failover)
          send_note(this, state.opts.tracker, *state.opts.time,
                    recovered_note(path, "ready on node " + state.self));
      },
      [this, path, failover](caf::error& err) {
        state.starting.erase(path);
        spdlog::error("cluster: {} did not start here: {}", path,
                      error_text(err));
        if (failover)
          send_note(this, state.opts.tracker, *state.opts.time,
                    closed_note(path, runtime::incident_status::failed,
                                "it did not start on node " + state.self + ": "
                                  + error_text(err)));
      });
}

void cluster_actor::stop(const cluster::stop& s,
                         std::function<void(const caf::error&)> then) {
  if (!state.mine.count(s.path) || !state.stopping.insert(s.path).second) {
    if (then)
      then(caf::error{});
    return;
  }
  auto why = std::string{cluster::to_string(s.why)};
  if (s.why == cluster::stop_reason::fenced) {
    spdlog::warn("cluster: stopping {} here: no quorum, another node may "
                 "take it over",
                 s.path);
    auto& time = *state.opts.time;
    auto& tracker = state.opts.tracker;
    send_note(this, tracker, time,
              failed_note(
                s.path, cluster_failure(config::failure_mode::partitioned,
                                        "node " + state.self + " has no quorum",
                                        state.self)));
    send_note(this, tracker, time,
              action_note(s.path, "stop",
                          "fenced: held stopped until the quorum is back"));
    state.fenced.insert(s.path);
  } else {
    spdlog::info("cluster: stopping {} here ({}, node {} runs it)", s.path, why,
                 s.to);
  }
  state.deferred.erase(s.path);
  mark_unit(s.path, false);
  tell_dependents();
  if (state.opts.coordinator)
    send(state.opts.coordinator, here_atom::value, s.path, false);
  request(state.node, std::chrono::minutes{5}, op_atom::value,
          std::string{"unplace"}, s.path, local_atom::value)
    .then(
      [this, path = s.path, then](bool) {
        state.stopping.erase(path);
        state.mine.erase(path);
        beat(); // where it moves to hears of it now
        if (then)
          then(caf::error{});
      },
      [this, path = s.path, then](caf::error& err) {
        spdlog::error("cluster: {} did not stop here: {}", path,
                      error_text(err));
        state.stopping.erase(path);
        if (then)
          then(err);
      });
}

void cluster_actor::settle_fenced(
  bool quorum, const std::map<std::string, std::string>& running) {
  if (!quorum)
    return;
  for (auto it = state.fenced.begin(); it != state.fenced.end();) {
    auto where = running.find(*it);
    if (where == running.end() || where->second.empty()
        || state.starting.count(*it)) {
      ++it;
      continue;
    }
    send_note(
      this, state.opts.tracker, *state.opts.time,
      recovered_note(*it, "quorum back; runs on node " + where->second));
    it = state.fenced.erase(it);
  }
}

} // namespace detail

caf::actor spawn_cluster(caf::actor_system& sys, cluster_options opts) {
  return sys.spawn<detail::cluster_actor>(std::move(opts));
}

} // namespace grace::actors
