// A playbook run's decisions without an actor: the steps in order, the
// attempts, and where a failure leads (on_failure, escalate, failed).
#include <gtest/gtest.h>

#include "playbooks/run.hpp"
#include "tests/config/config_test_util.hpp"

using namespace grace;
using grace::test::config_of;
namespace after = playbooks::after;

namespace {

const char* const yaml = R"(grace: 1
supervisor:
  children:
    - {name: api, command: [api]}
playbooks:
  twice:
    steps: [snapshot, {signal: SIGUSR1}]
    max_attempts: 2
    on_failure: careful
  careful:
    steps: [restart]
    on_failure: escalate
  hopeless:
    steps: [restart]
)";

playbooks::run start(const config::grace_config& cfg, const char* name) {
  playbooks::run r;
  r.current = *playbooks::plan_of(cfg, name);
  return r;
}

} // namespace

TEST(PlaybookRun, StepsRunInOrderAndAPlanWithoutAVerificationEndsHeld) {
  playbooks::run r;
  r.current.name = "hold_only";
  r.current.steps.resize(2); // as safe_hold's: no verification
  EXPECT_TRUE(std::holds_alternative<after::step>(playbooks::step_ok(r)));
  EXPECT_EQ(r.step, 1u);
  EXPECT_TRUE(std::holds_alternative<after::held>(playbooks::step_ok(r)));
}

TEST(PlaybookRun, AFailedStepTriesThePlanAgainThenItsFallback) {
  auto cfg = config_of(yaml);
  auto r = start(cfg, "twice");
  playbooks::step_ok(r);
  std::string fallback;
  // Attempt 1 of 2 failed at step 1: the plan again from its first step.
  auto n = playbooks::step_failed(r, "no such process", cfg, &fallback);
  EXPECT_TRUE(std::holds_alternative<after::step>(n));
  EXPECT_EQ(r.step, 0u);
  EXPECT_EQ(r.attempt, 2);
  EXPECT_TRUE(fallback.empty());
  // Attempt 2 failed: on_failure: careful, from its first step.
  n = playbooks::step_failed(r, "no such process", cfg, &fallback);
  EXPECT_TRUE(std::holds_alternative<after::step>(n));
  EXPECT_EQ(fallback, "careful");
  EXPECT_EQ(r.current.name, "careful");
  EXPECT_EQ(r.attempt, 1);
  EXPECT_EQ(r.step, 0u);
  // careful fails: escalate, saying which playbook failed and why.
  n = playbooks::step_failed(r, "timed out", cfg, &fallback);
  auto* up = std::get_if<after::escalate>(&n);
  ASSERT_TRUE(up);
  EXPECT_EQ(up->why, "careful failed: timed out");
}

TEST(PlaybookRun, WithoutAFallbackOrWithAMissingOneItFails) {
  auto cfg = config_of(yaml);
  auto hopeless = start(cfg, "hopeless");
  auto n = playbooks::step_failed(hopeless, "exit code 1", cfg, nullptr);
  auto* f = std::get_if<after::failed>(&n);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->why, "hopeless: exit code 1");
  // (The loader refuses an unknown on_failure; a plan kept across a reload
  // could still name one that is gone.)
  auto lost = start(cfg, "hopeless");
  lost.current.name = "lost";
  lost.current.on_failure = "nowhere";
  n = playbooks::step_failed(lost, "exit code 1", cfg, nullptr);
  f = std::get_if<after::failed>(&n);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->why, "lost: exit code 1; no playbook nowhere");
}
