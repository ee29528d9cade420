// The cluster actor (cluster_node.hpp), shared by the files of its
// concepts: cluster_node.cpp (connections, heartbeats, membership and
// placement carried out), cluster_dependencies.cpp (dependencies that cross
// nodes), cluster_operations.cpp (the operator's requests: status across
// the cluster, passed on, moved) and cluster_tls.cpp (TLS files checked,
// publishing). Internal to actors/.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "actors/cluster_node.hpp"
#include "actors/messages.hpp"
#include "cluster/membership.hpp"
#include "cluster/placement.hpp"
#include "config/cluster.hpp"

namespace grace::actors::detail {

using std::chrono::milliseconds;
using time_point = cluster::membership::time_point;

// Steady nanoseconds, as the node's clock and the tracker count them.
inline std::int64_t steady_ns_of(time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           t.time_since_epoch())
    .count();
}

// The node that runs the placed component `path` is, or is under, by
// `running` (running_on()); null if `path` is not placed.
inline const std::string*
placed_on(const std::map<std::string, std::string>& running,
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
  cluster_actor(caf::actor_config& cfg, cluster_options opts);

  caf::behavior make_behavior() override;

private:
  time_point now() const;

  cluster_heartbeat heartbeat() const;

  void beat();

  // Connects to every node listed after this one that it has no connection
  // to (those listed before connect to this one); a node that is not there
  // is tried again at the next heartbeat.
  void connect();

  void connection_lost(const caf::down_msg& dm);

  void heard(cluster_heartbeat hb);

  // A node with another config: the one that started later leaves (exit
  // 2), naming both digests; the other drops what it sends.
  void refuse(const cluster_heartbeat& hb);

  // A node's deadline before the next heartbeat tick: checked then, so
  // that its loss is acted on when it happens, not up to a tick later.
  void watch_deadlines();

  cluster::view current_view(time_point t) const;

  void decide();

  // -- dependencies that cross nodes ------------------------------------------

  // Whether this node runs (or starts) the unit of dependency `path`.
  bool runs_here(const std::string& path);

  // What this node runs that others depend on changed: they hear of it now,
  // not at the next heartbeat; so does this node.
  void tell_dependents();

  // The unit `unit` is ready here, or leaves: so are its dependencies that
  // cross nodes. `why`: it is not ready yet, for this reason.
  void mark_unit(const std::string& unit, bool ready,
                 std::optional<cluster_fault> why = std::nullopt);

  // Whether dependency `dep` (of unit `unit`) is ready on its node `where`.
  bool ready_on(const std::string& dep, const std::string& unit,
                const std::string& where);

  // Each dependency that crosses nodes, where it stands now: one ready for
  // the first time releases what waited for it; one that goes down or comes
  // back is told to the coordinator, which holds or restarts what depends
  // on it here (unless it failed here: the coordinator knows).
  void follow_dependencies(const std::map<std::string, std::string>& running);

  struct down_reason {
    config::failure_mode mode;
    std::string detail;
    time_point at;
  };

  // Why dependency `dep` is not ready, now on node `where` ("": none),
  // after it was ready on node `last`.
  down_reason why_down(const std::string& dep, const std::string& where,
                       const std::string& last);

  // Whether what `who` depends on on other nodes is ready (on some node).
  bool dependencies_ready(const std::string& who);

  // Components that waited for dependencies on other nodes: started once
  // each is ready (a placed unit, where the cluster placed it).
  void release_waiting();

  caf::result<bool> pass_on(const std::string& verb, const std::string& who);

  // Whether the current message comes from a node of the cluster that is
  // up (a node refused for its config is not).
  bool from_a_member();

  // `grace status` of the whole cluster: this node's rows, where each
  // placed component another node runs replaced by that node's own rows,
  // and every node, up or down since when.
  caf::result<status_list, node_list> whole_status(status_list local);

  // running_on() of what this node sees now.
  std::map<std::string, std::string> running_now() const;

  // Where each placed component runs by the claims heard: its owner, if
  // that node claims it; "" if none does (yet).
  static std::map<std::string, std::string>
  running_on(const cluster::decision& d, const cluster::view& v);

  // Logs where another node runs a placed component whenever that changes.
  void log_moves(const std::map<std::string, std::string>& running);

  void start(const cluster::start& s);

  // Starts placed unit `path` here (claimed already).
  void place(const std::string& path, bool failover);

  // Stops `s.path` here and drops its claim; then `then` (if any) hears
  // how it went.
  void stop(const cluster::stop& s,
            std::function<void(const caf::error&)> then = nullptr);

  // The first node of placed unit `unit`'s list that is up, with a quorum;
  // "" if none (or `unit` is not placed).
  std::string first_up(const std::string& unit) const;

  // The operator's start of `unit`, which runs on node `where`, not on
  // node `to`, the first of its list that is up: `where` stops it and
  // drops its claim, then `to` starts it, as placement has it.
  void move(const std::string& unit, const std::string& where,
            const std::string& to, caf::response_promise rp);

  // Gives `unit` up for node `to` to start it.
  void yield(const std::string& unit, const std::string& to,
             caf::response_promise rp);

  // A fenced component's incident resolves once the quorum is back and it
  // runs on one node.
  void settle_fenced(bool quorum,
                     const std::map<std::string, std::string>& running);
};

} // namespace grace::actors::detail
