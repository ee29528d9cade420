// Heartbeats to up and down, with the times passed in.
#include <gtest/gtest.h>

#include "cluster/membership.hpp"

using grace::cluster::membership;
using namespace std::chrono_literals;

namespace {

const membership::time_point t0{std::chrono::seconds{100}};

} // namespace

TEST(Membership, OnlyItselfIsUpUntilItHearsAPeer) {
  membership m("a", {"a", "b", "c"}, 1s, t0);
  auto up = m.up(t0 + 5s);
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(up.at("a"), 5s);
  EXPECT_TRUE(m.heard("b", t0 + 1s));
  EXPECT_TRUE(m.is_up("b"));
  EXPECT_EQ(m.up(t0 + 3s).at("b"), 2s);
  EXPECT_FALSE(m.heard("z", t0 + 1s)) << "not a node of the cluster";
  EXPECT_FALSE(m.is_up("z"));
}

TEST(Membership, APeerSilentForDownAfterWentDownAtItsDeadline) {
  membership m("a", {"a", "b", "c"}, 1s, t0);
  m.heard("b", t0);
  m.heard("c", t0);
  m.heard("b", t0 + 200ms);
  EXPECT_TRUE(m.tick(t0 + 999ms).empty());
  EXPECT_EQ(m.deadline("b"), t0 + 1200ms);
  // Noticed late (a slow tick): the moment is still the deadline.
  auto down = m.tick(t0 + 1500ms);
  ASSERT_EQ(down.size(), 2u);
  EXPECT_EQ(down[0].node, "c");
  EXPECT_EQ(down[0].at, t0 + 1s);
  EXPECT_EQ(down[1].node, "b");
  EXPECT_EQ(down[1].at, t0 + 1200ms);
  EXPECT_FALSE(m.is_up("b"));
  EXPECT_EQ(m.down_since("b"), t0 + 1200ms);
  EXPECT_TRUE(m.tick(t0 + 5s).empty()) << "down once";
  EXPECT_EQ(m.up(t0 + 5s).size(), 1u);
}

TEST(Membership, ANodeHeardAgainIsUpFromThen) {
  membership m("a", {"a", "b"}, 1s, t0);
  m.heard("b", t0);
  m.tick(t0 + 2s);
  EXPECT_FALSE(m.is_up("b"));
  m.heard("b", t0 + 3s);
  EXPECT_TRUE(m.is_up("b"));
  EXPECT_FALSE(m.down_since("b"));
  EXPECT_EQ(m.up(t0 + 3500ms).at("b"), 500ms) << "up for counts afresh";
}

TEST(Membership, ItselfIsNeverDown) {
  membership m("a", {"a", "b"}, 1s, t0);
  EXPECT_TRUE(m.tick(t0 + 1h).empty());
  EXPECT_TRUE(m.is_up("a"));
  EXPECT_FALSE(m.deadline("a"));
}

TEST(Membership, AnOldHeartbeatDoesNotMoveTheDeadlineBack) {
  membership m("a", {"a", "b"}, 1s, t0);
  m.heard("b", t0 + 500ms);
  m.heard("b", t0 + 100ms); // delivered late
  EXPECT_EQ(m.deadline("b"), t0 + 1500ms);
}
