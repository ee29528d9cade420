// Placement and failover without sockets: nodes that decide in rounds from
// what they hear, through node loss and return, frozen nodes, failback, and
// every partition of 3 and 5 nodes.
#include <algorithm>
#include <functional>
#include <set>

#include <gtest/gtest.h>

#include "cluster/placement.hpp"

using namespace grace::cluster;
using namespace std::chrono_literals;

namespace {

// A cluster whose nodes decide in rounds. Each round every node that is not
// frozen hears the nodes of its side of the partition (their claims as they
// stand), keeps the last claims of the nodes it no longer hears, decides,
// and then carries out its starts and stops. Rounds are synchronous, so the
// sim also checks what an interleaving could break: nobody starts what a
// node it hears still runs.
class cluster_sim {
public:
  cluster_sim(std::vector<std::string> nodes, rules r,
              std::vector<placed> components)
      : nodes_(std::move(nodes)), rules_(r),
        components_(std::move(components)) {
    for (auto& n : nodes_)
      side_[n] = 0;
    for (auto& o : nodes_)
      for (auto& n : nodes_)
        up_for_[o][n] = 0ms;
  }

  /// Nodes on different sides no longer hear each other; one that is heard
  /// again after a break has been up for no time.
  void split(const std::map<std::string, int>& sides) {
    for (auto& o : nodes_)
      for (auto& n : nodes_) {
        bool was = hears(o, n);
        bool now = sides.at(o) == sides.at(n);
        if (!was && now)
          up_for_[o][n] = 0ms;
      }
    side_ = sides;
  }

  void heal() {
    std::map<std::string, int> one;
    for (auto& n : nodes_)
      one[n] = 0;
    split(one);
  }

  /// A frozen node decides nothing and is heard by nobody; what it runs
  /// keeps running.
  void freeze(const std::string& n) {
    frozen_.insert(n);
    for (auto& o : nodes_)
      if (o != n)
        up_for_[o].erase(n);
  }

  void thaw(const std::string& n) {
    frozen_.erase(n);
    for (auto& o : nodes_) {
      up_for_[o][n] = 0ms;
      up_for_[n][o] = 0ms;
    }
  }

  void advance(std::chrono::milliseconds d) {
    for (auto& [o, seen] : up_for_)
      for (auto& [n, t] : seen)
        t += d;
  }

  /// Rounds until nobody acts (at most 10); each round is checked by
  /// `check`, if set.
  int settle() {
    for (int round = 1; round <= 10; ++round) {
      if (!step())
        return round;
      if (check)
        check(*this);
    }
    ADD_FAILURE() << "no stable placement after 10 rounds";
    return 10;
  }

  /// The nodes that run `path` (frozen ones included).
  std::vector<std::string> running(const std::string& path) const {
    std::vector<std::string> out;
    for (auto& n : nodes_)
      if (runs_.count(n) && runs_.at(n).count(path))
        out.push_back(n);
    return out;
  }

  std::size_t instances(const std::string& path, bool count_frozen) const {
    std::size_t k = 0;
    for (auto& n : running(path))
      if (count_frozen || !frozen_.count(n))
        ++k;
    return k;
  }

  const decision& last(const std::string& n) { return last_[n]; }
  const std::vector<placed>& components() const { return components_; }
  const std::vector<std::string>& nodes() const { return nodes_; }
  int side(const std::string& n) const { return side_.at(n); }
  bool frozen(const std::string& n) const { return frozen_.count(n) > 0; }
  const rules& the_rules() const { return rules_; }

  /// The nodes on `n`'s side, itself included, that are not frozen.
  std::size_t side_size(const std::string& n) const {
    std::size_t k = 0;
    for (auto& m : nodes_)
      if (hears(n, m))
        ++k;
    return k;
  }

  std::function<void(const cluster_sim&)> check;
  /// Every start so far: the node, and what it started.
  std::vector<std::pair<std::string, start>> started;

  bool hears(const std::string& o, const std::string& n) const {
    if (o == n)
      return true;
    return !frozen_.count(o) && !frozen_.count(n) && side_.at(o) == side_.at(n);
  }

private:
  bool step() {
    for (auto& o : nodes_)
      for (auto& n : nodes_)
        if (hears(o, n))
          heard_[o][n] = runs_[n];
    std::map<std::string, decision> out;
    for (auto& o : nodes_) {
      if (frozen_.count(o))
        continue;
      view v;
      v.self = o;
      for (auto& n : nodes_)
        if (hears(o, n))
          v.up[n] = up_for_[o][n];
      for (auto& [n, paths] : heard_[o])
        for (auto& [path, c] : paths)
          v.claims[path].push_back(c);
      out[o] = decide(rules_, components_, v);
    }
    // Stops and starts of one round may land in any order: a node never
    // starts what a node it hears still runs.
    for (auto& [o, d] : out)
      for (auto& st : d.starts)
        for (auto& n : running(st.path))
          EXPECT_FALSE(hears(o, n))
            << o << " starts " << st.path << " that " << n << " runs";
    bool acted = false;
    for (auto& [o, d] : out) {
      for (auto& s : d.starts) {
        runs_[o][s.path] = claim{o, s.epoch};
        started.emplace_back(o, s);
      }
      for (auto& s : d.stops)
        runs_[o].erase(s.path);
      acted = acted || !d.starts.empty() || !d.stops.empty();
      last_[o] = d;
    }
    return acted;
  }

  std::vector<std::string> nodes_;
  rules rules_;
  std::vector<placed> components_;
  std::map<std::string, int> side_;
  std::set<std::string> frozen_;
  std::map<std::string, std::map<std::string, std::chrono::milliseconds>>
    up_for_;
  std::map<std::string, std::map<std::string, claim>> runs_;
  std::map<std::string, std::map<std::string, std::map<std::string, claim>>>
    heard_;
  std::map<std::string, decision> last_;
};

rules majority_of(std::size_t n) {
  rules r;
  r.quorum = majority(n);
  r.down_after = 1s;
  return r;
}

// Never two instances of a component another node may take over, the
// frozen nodes' left out (they run on until they wake and stop first).
void at_most_one(const cluster_sim& s) {
  for (auto& c : s.components())
    if (c.nodes.size() > 1) {
      EXPECT_LE(s.instances(c.path, false), 1u) << c.path;
    }
}

const std::vector<placed> three_components = {
  {"root/db", {"a", "b"}},
  {"root/api", {"b", "c", "a"}},
  {"root/solo", {"c"}},
};

} // namespace

TEST(Placement, EachComponentRunsOnceOnTheFirstNodeOfItsList) {
  cluster_sim s({"a", "b", "c"}, majority_of(3), three_components);
  s.settle();
  EXPECT_EQ(s.running("root/db"), (std::vector<std::string>{"a"}));
  EXPECT_EQ(s.running("root/api"), (std::vector<std::string>{"b"}));
  EXPECT_EQ(s.running("root/solo"), (std::vector<std::string>{"c"}));
  for (auto& n : s.nodes())
    EXPECT_EQ(s.last(n).owner.at("root/api"), "b") << "every node agrees";
}

TEST(Placement, NothingPlacedStartsBeforeAQuorum) {
  cluster_sim s({"a", "b", "c"}, majority_of(3), three_components);
  s.split({{"a", 0}, {"b", 1}, {"c", 2}});
  s.settle();
  for (auto& c : three_components)
    EXPECT_TRUE(s.running(c.path).empty()) << c.path;
  EXPECT_FALSE(s.last("a").quorum);
  s.split({{"a", 0}, {"b", 0}, {"c", 2}});
  s.settle();
  EXPECT_EQ(s.running("root/db"), (std::vector<std::string>{"a"}));
  EXPECT_EQ(s.running("root/api"), (std::vector<std::string>{"b"}));
  EXPECT_TRUE(s.running("root/solo").empty()) << "c has no quorum yet";
  s.heal();
  s.settle();
  EXPECT_EQ(s.running("root/solo"), (std::vector<std::string>{"c"}));
}

TEST(Placement, ALostNodesComponentFailsOverAndItFencesItself) {
  cluster_sim s({"a", "b", "c"}, majority_of(3), three_components);
  s.check = at_most_one;
  s.settle();
  s.split({{"a", 0}, {"b", 1}, {"c", 1}});
  s.settle();
  EXPECT_EQ(s.running("root/db"), (std::vector<std::string>{"b"}));
  auto& [node, took] = s.started.back();
  EXPECT_EQ(node, "b");
  EXPECT_EQ(took.path, "root/db");
  EXPECT_EQ(took.why, start_reason::failover);
  EXPECT_EQ(took.from, "a");
  EXPECT_EQ(s.last("c").owner.at("root/db"), "b");
  EXPECT_FALSE(s.last("a").quorum);
  EXPECT_EQ(s.running("root/api"), (std::vector<std::string>{"b"}));
  EXPECT_EQ(s.running("root/solo"), (std::vector<std::string>{"c"}));
}

TEST(Placement, TheTakeOverSaysFromWhichNode) {
  rules r = majority_of(3);
  view v;
  v.self = "b";
  v.up = {{"b", 5s}, {"c", 5s}};
  v.claims["root/db"] = {{"a", 3}};
  auto d = decide(r, {{"root/db", {"a", "b"}}}, v);
  ASSERT_EQ(d.starts.size(), 1u);
  EXPECT_EQ(d.starts[0].why, start_reason::failover);
  EXPECT_EQ(d.starts[0].from, "a");
  EXPECT_EQ(d.starts[0].epoch, 4u) << "above the lost node's claim";
  EXPECT_TRUE(d.stops.empty());
}

TEST(Placement, AReturningNodeStartsNothingThatMovedWithoutFailback) {
  cluster_sim s({"a", "b", "c"}, majority_of(3), three_components);
  s.check = at_most_one;
  s.settle();
  s.split({{"a", 0}, {"b", 1}, {"c", 1}});
  s.settle();
  s.heal();
  s.advance(10s);
  s.settle();
  EXPECT_EQ(s.running("root/db"), (std::vector<std::string>{"b"}));
  EXPECT_EQ(s.last("a").owner.at("root/db"), "b");
}

TEST(Placement, FailbackWaitsDownAfterThenMovesWithoutTwoInstances) {
  auto r = majority_of(3);
  r.failback = true;
  cluster_sim s({"a", "b", "c"}, r, three_components);
  s.check = at_most_one;
  s.settle();
  s.split({{"a", 0}, {"b", 1}, {"c", 1}});
  s.settle();
  s.heal();
  s.advance(999ms);
  s.settle();
  EXPECT_EQ(s.running("root/db"), (std::vector<std::string>{"b"}))
    << "a is back for less than down_after";
  s.advance(1ms);
  s.settle();
  EXPECT_EQ(s.running("root/db"), (std::vector<std::string>{"a"}));
}

TEST(Placement, AFrozenNodeStopsWhatMovedBeforeAnythingElse) {
  cluster_sim s({"a", "b", "c"}, majority_of(3), three_components);
  s.check = at_most_one;
  s.settle();
  s.freeze("a");
  s.settle();
  EXPECT_EQ(s.running("root/db"), (std::vector<std::string>{"a", "b"}))
    << "a's instance runs on while a is stopped";
  s.thaw("a");
  s.settle();
  EXPECT_EQ(s.running("root/db"), (std::vector<std::string>{"b"}));
}

TEST(Placement, TwoNodesWithAMajorityStopWhatCouldMove) {
  cluster_sim s({"a", "b"}, majority_of(2), {{"root/db", {"a", "b"}}});
  s.settle();
  s.split({{"a", 0}, {"b", 1}});
  s.settle();
  EXPECT_TRUE(s.running("root/db").empty());
  s.heal();
  s.settle();
  EXPECT_EQ(s.running("root/db").size(), 1u);
}

TEST(Placement, TwoNodesWithQuorumOneRunBothSidesThenKeepOne) {
  rules r;
  r.quorum = 1;
  cluster_sim s({"a", "b"}, r, {{"root/db", {"a", "b"}}});
  s.settle();
  s.split({{"a", 0}, {"b", 1}});
  s.settle();
  EXPECT_EQ(s.running("root/db"), (std::vector<std::string>{"a", "b"}))
    << "the risk quorum: 1 accepts";
  s.heal();
  s.settle();
  EXPECT_EQ(s.running("root/db"), (std::vector<std::string>{"b"}))
    << "the newer claim wins";
}

// -- every partition ----------------------------------------------------------

namespace {

// Every way to split `n` nodes into sides (restricted growth strings).
std::vector<std::vector<int>> partitions(std::size_t n) {
  std::vector<std::vector<int>> out;
  std::vector<int> x(n, 0);
  std::function<void(std::size_t, int)> fill = [&](std::size_t i, int top) {
    if (i == n) {
      out.push_back(x);
      return;
    }
    for (int k = 0; k <= top + 1; ++k) {
      x[i] = k;
      fill(i + 1, std::max(top, k));
    }
  };
  x[0] = 0;
  fill(1, 0);
  return out;
}

std::map<std::string, int> sides(const std::vector<std::string>& nodes,
                                 const std::vector<int>& p) {
  std::map<std::string, int> out;
  for (std::size_t i = 0; i < nodes.size(); ++i)
    out[nodes[i]] = p[i];
  return out;
}

// Every list of 1 to `longest` distinct nodes, as a component.
std::vector<placed> every_list(const std::vector<std::string>& nodes,
                               std::size_t longest) {
  std::vector<placed> out;
  std::vector<std::string> list;
  std::function<void()> grow = [&] {
    if (!list.empty()) {
      std::string path = "root/on";
      for (auto& n : list)
        path += "_" + n;
      out.push_back({path, list});
    }
    if (list.size() == longest)
      return;
    for (auto& n : nodes)
      if (std::find(list.begin(), list.end(), n) == list.end()) {
        list.push_back(n);
        grow();
        list.pop_back();
      }
  };
  grow();
  return out;
}

// After the cluster settled: on a side with a quorum, each component with a
// node there runs exactly once there; a side without one runs nothing that
// could move.
void placed_by_quorum(const cluster_sim& s) {
  for (auto& c : s.components()) {
    std::map<int, std::size_t> on_side;
    std::set<int> has_node;
    for (auto& n : s.running(c.path))
      ++on_side[s.side(n)];
    for (auto& n : c.nodes)
      has_node.insert(s.side(n));
    for (auto& n : s.nodes()) {
      auto side = s.side(n);
      auto quorum = s.side_size(n) >= s.the_rules().quorum;
      if (quorum && has_node.count(side)) {
        EXPECT_EQ(on_side[side], 1u) << c.path << " on the side of " << n;
      }
      if (!quorum && c.nodes.size() > 1) {
        EXPECT_EQ(on_side[side], 0u) << c.path << " fenced with " << n;
      }
    }
  }
}

void once_each(const cluster_sim& s) {
  for (auto& c : s.components())
    EXPECT_EQ(s.running(c.path).size(), 1u) << c.path;
}

void every_partition(const std::vector<std::string>& nodes, rules r,
                     std::size_t longest, bool transitions) {
  auto comps = every_list(nodes, longest);
  auto all = partitions(nodes.size());
  auto majority_rule = r.quorum >= majority(nodes.size());
  for (auto& p : all) {
    std::vector<const std::vector<int>*> nexts;
    if (transitions)
      for (auto& q : all)
        nexts.push_back(&q);
    else
      nexts.push_back(nullptr);
    for (auto* q : nexts) {
      cluster_sim s(nodes, r, comps);
      if (majority_rule)
        s.check = at_most_one;
      s.settle();
      once_each(s);
      s.split(sides(nodes, p));
      s.advance(r.down_after);
      s.settle();
      placed_by_quorum(s);
      if (q) {
        s.split(sides(nodes, *q));
        s.advance(r.down_after);
        s.settle();
        placed_by_quorum(s);
      }
      s.heal();
      s.advance(r.down_after);
      s.settle();
      once_each(s);
      if (::testing::Test::HasFailure())
        return; // the first partition that fails says enough
    }
  }
}

} // namespace

TEST(PlacementEveryPartition, ThreeNodesFromEachSplitToEachOther) {
  every_partition({"a", "b", "c"}, majority_of(3), 3, true);
}

TEST(PlacementEveryPartition, FiveNodesEachSplitAndBack) {
  every_partition({"a", "b", "c", "d", "e"}, majority_of(5), 3, false);
}

TEST(PlacementEveryPartition, FiveNodesFromEachSplitToEachOther) {
  every_partition({"a", "b", "c", "d", "e"}, majority_of(5), 2, true);
}

TEST(PlacementEveryPartition, ThreeNodesWithFailback) {
  auto r = majority_of(3);
  r.failback = true;
  every_partition({"a", "b", "c"}, r, 3, true);
}

TEST(PlacementEveryPartition, ThreeNodesWithQuorumOne) {
  rules r;
  r.quorum = 1;
  every_partition({"a", "b", "c"}, r, 3, true);
}
