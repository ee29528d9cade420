// This grace as a node of a cluster (SPEC.md section 9): an actor published
// on the node's port through CAF's middleman, which connects to every other
// node, sends each a heartbeat every `heartbeat` (the config's digest and
// what this node runs of the placed components), keeps the membership
// (cluster/membership.hpp) and asks placement (cluster/placement.hpp) what
// runs where after every heartbeat heard and every node lost. It carries
// the decision out through the node actor, as the operator's start and stop
// of placed components, which start held (supervisor_core.hpp); and it
// records the incidents of the cluster: `node_down` on the node that takes a
// component over, `partitioned` on a node that stops what another node may
// take over.
//
// A `depends_on` may cross nodes (config::cluster_layout): the node that
// runs such a dependency tells the others, in its heartbeats, whether it is
// ready (or why not), at once when that changes. Each node releases the
// components that wait for it (held at their first start) once it is ready
// somewhere, places a unit that depends on it only then, and tells its
// coordinator when it goes down and comes back, which holds and restarts
// the dependents here as for a dependency on this node.
//
//   node actor --(register_atom, node)--> cluster    who carries decisions out
//   cluster --(op_atom, "start"|"stop", path)--> node
//   node --stop_atom--> cluster                      no more starts: stopping
//   cluster --(stop_atom, 2)--> node                 another config: leave
//   cluster <--cluster_heartbeat--> other nodes' cluster actors
//   coordinator --(dep_down_atom|dep_up_atom, path...)--> cluster
//   cluster --(dep_down_atom|dep_up_atom, path..., remote_atom)--> coordinator
//   cluster --(here_atom, unit, bool)--> coordinator   placed here or not
//   cluster --(op_atom, "release", path)--> node      its dependency is ready
#pragma once

#include <memory>
#include <string>

#include <caf/actor.hpp>

#include "actors/clock.hpp"
#include "config/schema.hpp"

namespace grace::actors {

/// What the cluster actor needs.
struct cluster_options {
  /// The config, with `cluster:` and its node named.
  std::shared_ptr<const config::grace_config> config;
  /// Records the cluster's incidents; may be none.
  caf::actor tracker;
  /// Hears of dependencies on other nodes that fail and recover, and
  /// tells of those that do here; may be none.
  caf::actor coordinator;
  std::shared_ptr<const clock> time = machine_clock();
};

/// Spawns the cluster actor (in a system made with the middleman loaded).
caf::actor spawn_cluster(caf::actor_system& sys, cluster_options opts);

/// Returns what is wrong with the TLS files of `tls` (unreadable, not a
/// certificate, a key that does not match it, a CA file without one), or
/// "": CAF's TLS layer throws on them from a thread of its own.
std::string tls_problem(const config::tls_spec& tls);

/// Publishes `cluster` on this node's address and port (reused at once
/// after a restart); returns why not ("" once published).
std::string publish_cluster(caf::actor_system& sys, const caf::actor& cluster,
                            const config::cluster_spec& spec);

} // namespace grace::actors
