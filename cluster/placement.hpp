// Where each placed component runs, as one node decides it from what it sees
// of the cluster (SPEC.md section 9). Pure: no CAF, no clock, no socket. The
// node actor feeds it the nodes it hears from and the claims they announce
// in their heartbeats, and carries out what it returns; every node applies
// the same rules, so nodes that see the same cluster agree.
//
// - Quorum: this node hears from at least `quorum` nodes, itself included.
// - A component with `nodes: [n1, n2, ...]` runs on exactly one node: where
//   it runs now (a claim of a node that is up), else on the first node of
//   its list that is up. Two claims (a partition healed): the higher epoch
//   wins, then the node earlier in the list; the other stops.
// - A node without quorum starts nothing placed, and stops what another
//   node may take over (more than one node in its list): fenced.
// - Failback: a node earlier in the list that has been up for `down_after`
//   takes its component back. The owner stops it first; the preferred node
//   starts it once no node claims it any more (never two instances).
// - A start raises the epoch above every claim this node knows of, a down
//   node's included, so the node that ran it before loses when it returns.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace grace::cluster {

using std::chrono::milliseconds;

/// A component (or subtree) with `nodes:`.
struct placed {
  std::string path;
  std::vector<std::string> nodes; // in order of preference
};

/// A node's announcement that it runs a component.
struct claim {
  std::string node;
  std::uint64_t epoch = 0; // raised by every start

  friend bool operator==(const claim&, const claim&) = default;
};

/// The cluster's rules, the same on every node.
struct rules {
  std::size_t quorum = 1; // nodes that must be reachable, self included
  bool failback = false;
  milliseconds down_after{1000};
};

/// The quorum `majority` means with `nodes` nodes.
constexpr std::size_t majority(std::size_t nodes) {
  return nodes / 2 + 1;
}

/// What one node sees now.
struct view {
  std::string self;
  /// The nodes it hears from (itself included), each with how long it has
  /// been up without a break.
  std::map<std::string, milliseconds> up;
  /// Each component's claims, by path: this node's own, and every other
  /// node's as it last announced them (a node that is down included).
  std::map<std::string, std::vector<claim>> claims;
};

enum class start_reason : std::uint8_t {
  placed,   // nobody ran it: the first start, or after a failback's stop
  failover, // the node that ran it is down
};

enum class stop_reason : std::uint8_t {
  moved,    // another node's claim wins (a healed partition)
  failback, // its preferred node is back and takes it
  fenced,   // no quorum here: another node may take it over
};

std::string_view to_string(start_reason x);
std::string_view to_string(stop_reason x);

/// Start `path` here with `epoch` (to announce).
struct start {
  std::string path;
  std::uint64_t epoch = 0;
  start_reason why = start_reason::placed;
  std::string from; // failover: the node that ran it, now down
};

/// Stop `path` here.
struct stop {
  std::string path;
  stop_reason why = stop_reason::moved;
  std::string to; // moved, failback: the node that runs it (will run it)
};

/// What this node must do, and where it sees each component.
struct decision {
  bool quorum = false;
  std::vector<start> starts; // in path order
  std::vector<stop> stops;   // in path order
  /// Each component's node as this node sees it: where it runs, or the node
  /// that starts it now; "" if none.
  std::map<std::string, std::string> owner;
};

/// Decides for `v.self`.
decision decide(const rules& r, const std::vector<placed>& components,
                const view& v);

} // namespace grace::cluster
