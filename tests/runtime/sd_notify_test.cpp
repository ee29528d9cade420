#include <gtest/gtest.h>

#include "runtime/sd_notify.hpp"

using grace::runtime::parse_notify;

TEST(SdNotify, ParsesTheSystemdAssignments) {
  auto m = parse_notify("READY=1\nSTATUS=Serving 3 clients\nMAINPID=4242\n");
  EXPECT_TRUE(m.ready);
  EXPECT_FALSE(m.watchdog);
  EXPECT_EQ(m.status, "Serving 3 clients");
  EXPECT_EQ(m.main_pid, 4242);
  EXPECT_TRUE(parse_notify("WATCHDOG=1").watchdog);
  EXPECT_TRUE(parse_notify("STOPPING=1").stopping);
  EXPECT_TRUE(parse_notify("RELOADING=1").reloading);
}

TEST(SdNotify, IgnoresWhatItDoesNotKnow) {
  auto m = parse_notify("READY=0\nFDSTORE=1\nnonsense\nMAINPID=-3\n=\n");
  EXPECT_FALSE(m.ready);
  EXPECT_FALSE(m.main_pid);
  EXPECT_FALSE(m.status);
  auto empty = parse_notify("");
  EXPECT_FALSE(empty.ready);
}

TEST(SdNotify, GarbageNeverCrashes) {
  std::string junk;
  for (int i = 0; i < 4096; ++i)
    junk += static_cast<char>((i * 7919) % 256);
  auto m = parse_notify(junk);
  (void)m;
  SUCCEED();
}
