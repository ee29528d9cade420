#include <unistd.h>

#include <gtest/gtest.h>

#include "runtime/proc_stat.hpp"

using namespace grace::runtime;

TEST(ProcStat, CpuTimeIsCountedFromTheLastParenthesis) {
  // A command with spaces and parentheses in it, as /proc shows it.
  std::string stat = "4242 (evil) name (x)) S 1 4242 4242 0 -1 4194560 100 0 "
                     "0 0 17 5 0 0 20 0 1 0 123 1000 10 0";
  EXPECT_EQ(parse_stat_cpu(stat), 22u);
  EXPECT_FALSE(parse_stat_cpu("4242 (x) S 1"));
  EXPECT_FALSE(parse_stat_cpu("garbage"));
}

TEST(ProcStat, ResidentPagesFromStatm) {
  EXPECT_EQ(parse_statm_resident("1000 250 40 2 0 100 0\n"), 250u);
  EXPECT_FALSE(parse_statm_resident(""));
}

TEST(ProcStat, OurOwnTreeCanBeSampled) {
  auto u = sample_tree(::getpid());
  ASSERT_TRUE(u);
  EXPECT_GE(u->processes, 1u);
  EXPECT_GT(u->rss_bytes, 0u);
  EXPECT_GE(u->fds, 3u);
  EXPECT_FALSE(sample_tree(0));
}

TEST(ProcStat, VersionsCompareByTheirParts) {
  auto v = [](const char* s) { return *parse_version(s); };
  EXPECT_TRUE(older(v("1.9.3"), v("1.10.0")));
  EXPECT_FALSE(older(v("1.10.0"), v("1.9.3")));
  EXPECT_TRUE(older(v("v2.0"), v("v2.0.1")));
  EXPECT_FALSE(older(v("2.0"), v("2.0")));
  EXPECT_TRUE(older(v("41"), v("42")));
  EXPECT_TRUE(older(v("3.14"), v("3.2"))) << "one dot: a decimal number";
  EXPECT_EQ(v("  1.2.3  \nrest").text, "1.2.3");
  EXPECT_FALSE(parse_version(""));
  EXPECT_FALSE(parse_version("release-1"));
  EXPECT_FALSE(parse_version("1.x.3"));
}
