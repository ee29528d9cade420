#include <gtest/gtest.h>

#include "runtime/log_watch.hpp"

using namespace grace::runtime;
using namespace std::chrono_literals;

TEST(LogWatch, CountMatchesWithinTheWindowMakeOneReport) {
  log_watch w{"ERROR|FATAL", 3, 1s};
  auto t = log_watch::clock_type::now();
  EXPECT_FALSE(w.feed("ERROR one", t));
  EXPECT_FALSE(w.feed("all good", t + 10ms));
  EXPECT_FALSE(w.feed("FATAL two", t + 20ms));
  auto hit = w.feed("ERROR three", t + 30ms);
  ASSERT_TRUE(hit);
  EXPECT_EQ(*hit, "3 lines matching /ERROR|FATAL/ within 1s, the last: "
                  "ERROR three");
  // The window starts afresh: one more is not a new burst.
  EXPECT_FALSE(w.feed("ERROR four", t + 40ms));
}

TEST(LogWatch, OldMatchesFallOutOfTheWindow) {
  log_watch w{"ERROR", 2, 100ms};
  auto t = log_watch::clock_type::now();
  EXPECT_FALSE(w.feed("ERROR", t));
  EXPECT_FALSE(w.feed("ERROR", t + 150ms)) << "the first one is too old";
  EXPECT_TRUE(w.feed("ERROR", t + 200ms));
}

TEST(LogWatch, AFloodIsMatchedUpToItsBudget) {
  log_watch w{"needle", 1, 1s, 1000}; // 1000 bytes a second
  auto t = log_watch::clock_type::now();
  std::string hay(100, 'x');
  for (int i = 0; i < 10; ++i)
    EXPECT_FALSE(w.feed(hay, t));
  EXPECT_FALSE(w.feed("needle", t)) << "over budget: skipped";
  EXPECT_EQ(w.skipped(), 1u);
  EXPECT_TRUE(w.feed("needle", t + 1s)) << "a new second, a new budget";
}
