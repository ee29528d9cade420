#include "actors/cluster_node.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>
#include <spdlog/spdlog.h>

#include "actors/messages.hpp"
#include "cluster/membership.hpp"
#include "cluster/placement.hpp"
#include "config/cluster.hpp"
#include "runtime/incident.hpp"

namespace grace::actors {

namespace {

using std::chrono::milliseconds;
using time_point = cluster::membership::time_point;

// Steady nanoseconds, as the node's clock and the tracker count them.
std::int64_t steady_ns_of(time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           t.time_since_epoch())
    .count();
}

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

// The node that runs the placed component `path` is, or is under, by
// `running` (running_on()); null if `path` is not placed.
const std::string* placed_on(const std::map<std::string, std::string>& running,
                             const std::string& path) {
  for (auto& [unit, node] : running)
    if (path == unit || path.starts_with(unit + "/"))
      return &node;
  return nullptr;
}

// (It points into `running`, which must outlive the answer.)
const std::string* placed_on(std::map<std::string, std::string>&&,
                             const std::string&)
  = delete;

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

// Another node, as this one reaches it.
struct peer {
  std::string host;
  std::uint16_t port = 0;
  caf::actor handle; // its cluster actor; none until connected
  bool connecting = false;
  /// One connection per pair of nodes: the node listed first dials.
  bool dials = false;
  bool lost_logged = false;
  std::string last_error; // of the last failed connect, logged once
  /// A node that answered and refused (its TLS certificate, another
  /// protocol) is not dialled again before this: each refused handshake
  /// costs the others' connections a hiccup in CAF 0.17's TLS layer.
  time_point retry_at{};
  /// The placed components it announced last (path -> epoch), kept while
  /// it is down: a start here outbids them.
  std::map<std::string, std::uint64_t> claims;
  /// When it went down last (the `detected_at` of a failover from it).
  std::optional<time_point> down_at;
  /// Of what it runs that other nodes depend on: what is ready, and why
  /// what is not is down.
  std::set<std::string> ready;
  std::vector<cluster_fault> faults;
};

/// A dependency that crosses nodes, as this node follows it.
struct remote_dependency {
  std::string unit; // its placed unit
  /// Ready on some node at the last look; none: never ready yet.
  std::optional<bool> ready;
  std::string ready_on; // the node it was last ready on
};

struct cluster_state {
  static inline const char* name = "grace.cluster";
  cluster_options opts;
  std::string self;
  std::int64_t started_us = 0;
  cluster::rules rules;
  milliseconds heartbeat{200};
  std::vector<cluster::placed> placed;
  std::optional<cluster::membership> members;
  std::map<std::string, peer> peers;
  /// What this node runs of the placed components, with each start's
  /// epoch: claimed from the moment it starts them until they stopped.
  std::map<std::string, std::uint64_t> mine;
  std::set<std::string> starting;
  std::set<std::string> stopping;
  /// Components stopped for want of a quorum: their `partitioned`
  /// incident is open until they run on one node again.
  std::set<std::string> fenced;
  std::set<std::string> refused; // nodes running another config, logged
  /// Where each placed component runs by the claims heard, as last logged.
  std::map<std::string, std::string> seen_on;
  caf::actor node; // carries the decisions out
  // -- dependencies that cross nodes (config::cluster_layout)
  config::cluster_layout layout;
  std::map<std::string, remote_dependency> deps;
  /// Those this node runs that are ready, and why those down here are
  /// (`local`: the coordinator said so, and holds what depends on them).
  std::set<std::string> ready;
  std::map<std::string, cluster_fault> faults;
  std::set<std::string> local;
  /// Components released here: they waited for such a dependency.
  std::set<std::string> released;
  /// Units this node runs, placed (started) once what they depend on on
  /// other nodes is ready: failover or not.
  std::map<std::string, bool> deferred;
  bool quorum = false;
  time_point quorum_since{};
  bool stopping_node = false; // grace stops: no more starts
  bool leaving = false;       // refused by the cluster: exits 2
};

class cluster_actor : public caf::stateful_actor<cluster_state> {
public:
  cluster_actor(caf::actor_config& cfg, cluster_options opts)
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

  caf::behavior make_behavior() override {
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
        state.faults[path]
          = {path, std::string{config::to_string(mode)}, detail};
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
        request(state.node, std::chrono::seconds{5}, status_atom::value,
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

private:
  time_point now() const {
    return time_point{std::chrono::nanoseconds{state.opts.time->steady_ns()}};
  }

  cluster_heartbeat heartbeat() const {
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

  void beat() {
    auto hb = heartbeat();
    for (auto& [name, p] : state.peers)
      if (p.handle)
        send(p.handle, hb);
  }

  // Connects to every node listed after this one that it has no connection
  // to (those listed before connect to this one); a node that is not there
  // is tried again at the next heartbeat.
  void connect() {
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
            spdlog::debug("cluster: connected to node {} at {}:{}", name,
                          to.host, to.port);
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
              spdlog::warn("cluster: node {} at {}:{} refused: {}", name,
                           to.host, to.port, why);
          });
    }
  }

  void connection_lost(const caf::down_msg& dm) {
    for (auto& [name, p] : state.peers)
      if (p.handle && p.handle.address() == dm.source) {
        p.handle = nullptr;
        if (!p.lost_logged)
          spdlog::info("cluster: connection to node {} lost ({})", name,
                       to_string(dm.reason));
        p.lost_logged = true;
      }
  }

  void heard(cluster_heartbeat hb) {
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
    if (was_up && claims == p.claims && ready == p.ready
        && hb.faults == p.faults)
      return;
    p.claims = std::move(claims);
    p.ready = std::move(ready);
    p.faults = std::move(hb.faults);
    decide();
  }

  // A node with another config: the one that started later leaves (exit
  // 2), naming both digests; the other drops what it sends.
  void refuse(const cluster_heartbeat& hb) {
    auto& ours = state.opts.config->digest;
    auto later = std::tie(state.started_us, state.self)
                 > std::tie(hb.started_us, hb.node);
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

  // A node's deadline before the next heartbeat tick: checked then, so
  // that its loss is acted on when it happens, not up to a tick later.
  void watch_deadlines() {
    auto t = now();
    for (auto& [name, p] : state.peers)
      if (auto d = state.members->deadline(name); d && *d < t + state.heartbeat)
        delayed_send(this,
                     std::chrono::duration_cast<std::chrono::nanoseconds>(
                       *d - t + std::chrono::milliseconds{1}),
                     deadline_atom::value);
  }

  cluster::view current_view(time_point t) const {
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

  void decide() {
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

  // -- dependencies that cross nodes ------------------------------------------

  // Whether this node runs (or starts) the unit of dependency `path`.
  bool runs_here(const std::string& path) {
    auto it = state.deps.find(path);
    return it != state.deps.end() && state.mine.count(it->second.unit)
           && !state.stopping.count(it->second.unit);
  }

  // What this node runs that others depend on changed: they hear of it now,
  // not at the next heartbeat; so does this node.
  void tell_dependents() {
    beat();
    follow_dependencies(running_now());
  }

  // The unit `unit` is ready here, or leaves: so are its dependencies that
  // cross nodes. `why`: it is not ready yet, for this reason.
  void mark_unit(const std::string& unit, bool ready,
                 std::optional<cluster_fault> why = std::nullopt) {
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

  // Whether dependency `dep` (of unit `unit`) is ready on its node `where`.
  bool ready_on(const std::string& dep, const std::string& unit,
                const std::string& where) {
    if (where.empty())
      return false;
    if (where == state.self)
      return state.ready.count(dep) && !state.starting.count(unit)
             && !state.stopping.count(unit);
    return state.members->is_up(where) && state.peers[where].ready.count(dep);
  }

  // Each dependency that crosses nodes, where it stands now: one ready for
  // the first time releases what waited for it; one that goes down or comes
  // back is told to the coordinator, which holds or restarts what depends
  // on it here (unless it failed here: the coordinator knows).
  void follow_dependencies(const std::map<std::string, std::string>& running) {
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

  struct down_reason {
    config::failure_mode mode;
    std::string detail;
    time_point at;
  };

  // Why dependency `dep` is not ready, now on node `where` ("": none),
  // after it was ready on node `last`.
  down_reason why_down(const std::string& dep, const std::string& where,
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
      return {fm::exited,
              "stopped on node " + last + ", moving to node " + where, t};
    return {fm::exited, "not ready on node " + where, t};
  }

  // Whether what `who` depends on on other nodes is ready (on some node).
  bool dependencies_ready(const std::string& who) {
    auto it = state.layout.gated.find(who);
    return it == state.layout.gated.end()
           || std::all_of(it->second.begin(), it->second.end(),
                          [&](const std::string& dep) {
                            return state.deps[dep].ready.value_or(false);
                          });
  }

  // Components that waited for dependencies on other nodes: started once
  // each is ready (a placed unit, where the cluster placed it).
  void release_waiting() {
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

  caf::result<bool> pass_on(const std::string& verb, const std::string& who) {
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
    spdlog::info("cluster: {} {}: passed on to node {}, which runs it", verb,
                 who, where);
    request(to.handle, std::chrono::minutes{5}, peer_op_atom::value, verb, who)
      .then([rp](bool) mutable { rp.deliver(true); },
            [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
    return rp;
  }

  // Whether the current message comes from a node of the cluster that is
  // up (a node refused for its config is not).
  bool from_a_member() {
    auto from = current_sender();
    if (!from)
      return false;
    for (auto& [name, p] : state.peers)
      if (p.handle && p.handle.node() == from->node())
        return state.members->is_up(name);
    return false;
  }

  // `grace status` of the whole cluster: this node's rows, where each
  // placed component another node runs replaced by that node's own rows,
  // and every node, up or down since when.
  caf::result<status_list, node_list> whole_status(status_list local) {
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

  // running_on() of what this node sees now.
  std::map<std::string, std::string> running_now() const {
    auto v = current_view(now());
    return running_on(cluster::decide(state.rules, state.placed, v), v);
  }

  // Where each placed component runs by the claims heard: its owner, if
  // that node claims it; "" if none does (yet).
  static std::map<std::string, std::string>
  running_on(const cluster::decision& d, const cluster::view& v) {
    std::map<std::string, std::string> out;
    for (auto& [path, owner] : d.owner) {
      auto claims = v.claims.find(path);
      bool claimed
        = claims != v.claims.end()
          && std::any_of(
            claims->second.begin(), claims->second.end(),
            [&](const cluster::claim& c) { return c.node == owner; });
      out[path] = claimed ? owner : std::string{};
    }
    return out;
  }

  // Logs where another node runs a placed component whenever that changes.
  void log_moves(const std::map<std::string, std::string>& running) {
    for (auto& [path, where] : running) {
      auto& seen = state.seen_on[path];
      if (where == seen)
        continue;
      seen = where;
      if (!where.empty() && where != state.self)
        spdlog::info("cluster: {} runs on node {}", path, where);
    }
  }

  void start(const cluster::start& s) {
    if (state.mine.count(s.path))
      return;
    state.mine[s.path] = s.epoch;
    state.starting.insert(s.path);
    bool failover = s.why == cluster::start_reason::failover;
    if (failover) // what depends on it hears why from the node taking over
      mark_unit(s.path, false,
                cluster_fault{{},
                              std::string{config::to_string(
                                config::failure_mode::node_down)},
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
      send_note(this, tracker, time,
                action_note(s.path, "start",
                            "on node " + state.self + ", failover from node "
                              + s.from));
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

  // Starts placed unit `path` here (claimed already).
  void place(const std::string& path, bool failover) {
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
                                  "it did not start on node " + state.self
                                    + ": " + error_text(err)));
        });
  }

  // Stops `s.path` here and drops its claim; then `then` (if any) hears
  // how it went.
  void stop(const cluster::stop& s,
            std::function<void(const caf::error&)> then = nullptr) {
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
                failed_note(s.path, cluster_failure(
                                      config::failure_mode::partitioned,
                                      "node " + state.self + " has no quorum",
                                      state.self)));
      send_note(this, tracker, time,
                action_note(s.path, "stop",
                            "fenced: held stopped until the quorum is back"));
      state.fenced.insert(s.path);
    } else {
      spdlog::info("cluster: stopping {} here ({}, node {} runs it)", s.path,
                   why, s.to);
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

  // The first node of placed unit `unit`'s list that is up, with a quorum;
  // "" if none (or `unit` is not placed).
  std::string first_up(const std::string& unit) const {
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

  // The operator's start of `unit`, which runs on node `where`, not on
  // node `to`, the first of its list that is up: `where` stops it and
  // drops its claim, then `to` starts it, as placement has it.
  void move(const std::string& unit, const std::string& where,
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

  // Gives `unit` up for node `to` to start it.
  void yield(const std::string& unit, const std::string& to,
             caf::response_promise rp) {
    stop({unit, cluster::stop_reason::moved, to},
         [rp](const caf::error& err) mutable {
           if (err)
             rp.deliver(err);
           else
             rp.deliver(true);
         });
  }

  // A fenced component's incident resolves once the quorum is back and it
  // runs on one node.
  void settle_fenced(bool quorum,
                     const std::map<std::string, std::string>& running) {
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
};

} // namespace

std::string tls_problem(const config::tls_spec& tls) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{
    SSL_CTX_new(TLS_method()), &SSL_CTX_free};
  if (!ctx)
    return "cannot set up TLS";
  auto why = [](const std::string& what, const std::string& file) {
    char text[256] = {};
    ERR_error_string_n(ERR_get_error(), text, sizeof text);
    ERR_clear_error();
    return what + " " + file + ": " + text;
  };
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), tls.cert.c_str()) != 1)
    return why("cannot load the certificate", tls.cert);
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), tls.key.c_str(), SSL_FILETYPE_PEM)
      != 1)
    return why("cannot load the key", tls.key);
  if (SSL_CTX_check_private_key(ctx.get()) != 1)
    return why("the key does not match the certificate", tls.key);
  if (SSL_CTX_load_verify_locations(ctx.get(), tls.ca.c_str(), nullptr) != 1)
    return why("cannot load the CA", tls.ca);
  return {};
}

caf::actor spawn_cluster(caf::actor_system& sys, cluster_options opts) {
  return sys.spawn<cluster_actor>(std::move(opts));
}

std::string publish_cluster(caf::actor_system& sys, const caf::actor& cluster,
                            const config::cluster_spec& spec) {
  auto me = std::find_if(spec.nodes.begin(), spec.nodes.end(),
                         [&](auto& n) { return n.name == spec.node; });
  if (me == spec.nodes.end())
    return "node " + spec.node + " is not among the cluster's nodes";
  auto& at = me->address;
  auto port
    = spec.tls
        ? caf::openssl::publish(cluster, at.port, at.host.c_str(), true)
        : sys.middleman().publish(cluster, at.port, at.host.c_str(), true);
  if (!port)
    return "cluster port " + at.host + ":" + std::to_string(at.port) + ": "
           + sys.render(port.error());
  return {};
}

} // namespace grace::actors
