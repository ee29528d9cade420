#include "cluster/placement.hpp"

#include <algorithm>

namespace grace::cluster {

std::string_view to_string(start_reason x) {
  switch (x) {
    case start_reason::placed:
      return "placed";
    case start_reason::failover:
      return "failover";
  }
  return "placed";
}

std::string_view to_string(stop_reason x) {
  switch (x) {
    case stop_reason::moved:
      return "moved";
    case stop_reason::failback:
      return "failback";
    case stop_reason::fenced:
      return "fenced";
  }
  return "moved";
}

namespace {

// A node's place in the component's list (past its end if not in it).
std::size_t rank(const placed& c, const std::string& node) {
  auto it = std::find(c.nodes.begin(), c.nodes.end(), node);
  return static_cast<std::size_t>(it - c.nodes.begin());
}

// The claim that wins among those of nodes that are up, leaving out
// `except`'s: the higher epoch, then the node earlier in the list.
const claim* winner(const placed& c, const std::vector<claim>& claims,
                    const view& v, const std::string& except = {}) {
  const claim* best = nullptr;
  for (auto& x : claims) {
    if (!v.up.count(x.node) || x.node == except)
      continue;
    if (!best || x.epoch > best->epoch
        || (x.epoch == best->epoch && rank(c, x.node) < rank(c, best->node)))
      best = &x;
  }
  return best;
}

// Where `c` belongs when `current` runs it (or nobody does): the current
// node, unless failback gives it to a node earlier in its list that has
// been up for down_after; with nobody running it, its first node up.
std::string wanted(const rules& r, const placed& c, const claim* current,
                   const view& v) {
  for (auto& n : c.nodes) {
    if (current && rank(c, n) >= rank(c, current->node))
      break;
    auto up = v.up.find(n);
    if (up == v.up.end())
      continue;
    if (!current || (r.failback && up->second >= r.down_after))
      return n;
  }
  return current ? current->node : std::string{};
}

} // namespace

decision decide(const rules& r, const std::vector<placed>& components,
                const view& v) {
  decision d;
  d.quorum = v.up.count(v.self) && v.up.size() >= r.quorum;
  std::vector<const placed*> order;
  for (auto& c : components)
    order.push_back(&c);
  std::sort(order.begin(), order.end(),
            [](auto* a, auto* b) { return a->path < b->path; });
  static const std::vector<claim> no_claims;
  for (auto* cp : order) {
    auto& c = *cp;
    auto found = v.claims.find(c.path);
    auto& claims = found == v.claims.end() ? no_claims : found->second;
    const claim* mine = nullptr;
    const claim* lost = nullptr; // the latest claim of a node that is down
    std::uint64_t top = 0;
    for (auto& x : claims) {
      top = std::max(top, x.epoch);
      if (x.node == v.self)
        mine = &x;
      else if (!v.up.count(x.node) && (!lost || x.epoch > lost->epoch))
        lost = &x;
    }
    if (!d.quorum) {
      auto fenced = mine && c.nodes.size() > 1;
      if (fenced)
        d.stops.push_back({c.path, stop_reason::fenced, {}});
      auto* runs = winner(c, claims, v, fenced ? v.self : std::string{});
      d.owner[c.path] = runs ? runs->node : std::string{};
      continue;
    }
    auto* current = winner(c, claims, v);
    auto target = wanted(r, c, current, v);
    if (mine && (current != mine || target != v.self)) {
      // Never two instances: a claim that lost, or a failback, stops here
      // before the other node starts it.
      if (current != mine)
        d.stops.push_back({c.path, stop_reason::moved, current->node});
      else
        d.stops.push_back({c.path, stop_reason::failback, target});
      d.owner[c.path] = current != mine ? current->node : target;
      continue;
    }
    if (!current && target == v.self) {
      d.starts.push_back({c.path, top + 1,
                          lost ? start_reason::failover : start_reason::placed,
                          lost ? lost->node : std::string{}});
    }
    d.owner[c.path] = current ? current->node : target;
  }
  return d;
}

} // namespace grace::cluster
