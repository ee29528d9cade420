#include <thread>

#include <gtest/gtest.h>

#include "runtime/probes.hpp"

using namespace grace::runtime;
using namespace std::chrono_literals;

namespace {

probe_result output(const std::string& text) {
  probe_result r;
  r.ok = true;
  r.output = text;
  return r;
}

} // namespace

TEST(Kpi, TheFirstNumberOfTheOutputIsJudged) {
  kpi_rule rule;
  rule.above = 100;
  kpi_memory memory;
  auto ok = judge_kpi(output("depth 42 items"), rule, memory);
  EXPECT_TRUE(ok.ok);
  EXPECT_EQ(ok.value, 42);
  auto bad = judge_kpi(output("depth 420 items"), rule, memory);
  EXPECT_FALSE(bad.ok);
  EXPECT_EQ(bad.mode, grace::config::failure_mode::kpi_threshold);
  EXPECT_NE(bad.detail.find("420 above 100"), std::string::npos) << bad.detail;
}

TEST(Kpi, OutOfBoundsMustLastForItsDuration) {
  kpi_rule rule;
  rule.below = 1;
  rule.sustained = 50ms;
  kpi_memory memory;
  EXPECT_TRUE(judge_kpi(output("0"), rule, memory).ok) << "not for long yet";
  EXPECT_TRUE(judge_kpi(output("5"), rule, memory).ok);
  EXPECT_FALSE(memory.out_since) << "back in bounds: the clock restarts";
  EXPECT_TRUE(judge_kpi(output("0"), rule, memory).ok);
  auto until = std::chrono::steady_clock::now() + 60ms;
  while (std::chrono::steady_clock::now() < until)
    std::this_thread::yield();
  EXPECT_FALSE(judge_kpi(output("0"), rule, memory).ok);
}

TEST(Kpi, AnUnreadableKpiFailsAtOnce) {
  kpi_rule rule;
  rule.above = 1;
  rule.sustained = 1h;
  kpi_memory memory;
  auto none = judge_kpi(output("nothing here"), rule, memory);
  EXPECT_FALSE(none.ok);
  EXPECT_EQ(none.detail, "no number in the output");
  rule.json_pointer = "/a/b";
  EXPECT_EQ(judge_kpi(output("{\"a\":{}}"), rule, memory).detail,
            "no number at /a/b");
  EXPECT_EQ(judge_kpi(output("not json"), rule, memory).detail,
            "no number at /a/b");
  EXPECT_EQ(judge_kpi(output("{\"a\":{\"b\":\"0.5\"}}"), rule, memory).value,
            0.5);
  probe_result failed;
  failed.detail = "exit code 2";
  EXPECT_EQ(judge_kpi(failed, rule, memory).detail,
            "cannot read the KPI: exit code 2");
}
