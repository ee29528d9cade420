#include <gtest/gtest.h>

#include "playbooks/plan.hpp"
#include "tests/config/config_test_util.hpp"

using namespace grace;
using config::failure_mode;
using config::step_spec;
using grace::test::config_of;
using playbooks::plan_of;
using playbooks::playbook_for;

namespace {

const config::child_spec& first_child(const config::grace_config& cfg) {
  return std::get<config::child_spec>(cfg.root.children.at(0).node);
}

std::vector<step_spec::kind> kinds(const playbooks::plan& p) {
  std::vector<step_spec::kind> result;
  for (auto& s : p.steps)
    result.push_back(s.what);
  return result;
}

const char* const yaml = R"(grace: 1
supervisor:
  children:
    - name: api
      command: [api]
      on: {resource_spike: leaky, check_failed: safe_hold}
playbooks:
  leaky:
    steps: [snapshot, {signal: SIGUSR1}, restart]
    max_attempts: 2
    on_failure: safe_hold
  checked:
    steps: [restart, {verify: {within: 3s}}]
)";

} // namespace

TEST(PlaybookFor, DefaultsFollowTheFailureMode) {
  auto cfg = config_of(yaml);
  auto& api = first_child(cfg);
  EXPECT_EQ(playbook_for(api, failure_mode::crashed), "restart");
  EXPECT_EQ(playbook_for(api, failure_mode::api_timeout), "restart");
  EXPECT_EQ(playbook_for(api, failure_mode::port_in_use), "free_port");
  EXPECT_EQ(playbook_for(api, failure_mode::dependency_failed),
            "restart_dependents");
  EXPECT_EQ(playbook_for(api, failure_mode::restart_intensity_exceeded),
            "escalate");
}

TEST(PlaybookFor, TheOnMapWins) {
  auto cfg = config_of(yaml);
  auto& api = first_child(cfg);
  EXPECT_EQ(playbook_for(api, failure_mode::resource_spike), "leaky");
  EXPECT_EQ(playbook_for(api, failure_mode::check_failed), "safe_hold");
}

TEST(PlanOf, UserPlaybooksEndWithAnImplicitVerification) {
  auto cfg = config_of(yaml);
  auto p = plan_of(cfg, "leaky");
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->builtin);
  EXPECT_EQ(kinds(*p), (std::vector<step_spec::kind>{
                         step_spec::kind::snapshot, step_spec::kind::signal,
                         step_spec::kind::restart, step_spec::kind::verify}));
  EXPECT_EQ(p->steps.back().within, std::chrono::seconds{10});
  EXPECT_EQ(p->max_attempts, 2);
  EXPECT_EQ(p->on_failure, "safe_hold");
}

TEST(PlanOf, AWrittenVerificationIsKept) {
  auto cfg = config_of(yaml);
  auto p = plan_of(cfg, "checked");
  ASSERT_TRUE(p);
  ASSERT_EQ(p->steps.size(), 2u);
  EXPECT_EQ(p->steps.back().within, std::chrono::seconds{3});
}

TEST(PlanOf, BuiltIns) {
  auto cfg = config_of(yaml);
  using k = step_spec::kind;
  EXPECT_EQ(kinds(*plan_of(cfg, "restart")),
            (std::vector<k>{k::restart, k::verify}));
  EXPECT_EQ(kinds(*plan_of(cfg, "free_port")),
            (std::vector<k>{k::free_port, k::start, k::verify}));
  EXPECT_EQ(kinds(*plan_of(cfg, "safe_hold")),
            (std::vector<k>{k::snapshot, k::stop}));
  EXPECT_TRUE(plan_of(cfg, "escalate")->steps.empty());
  EXPECT_TRUE(plan_of(cfg, "restart")->builtin);
  EXPECT_FALSE(plan_of(cfg, "nope"));
}

TEST(PlanOf, EveryOnEntryOfAValidConfigHasAPlan) {
  auto cfg = config_of(yaml);
  config::for_each_child(cfg.root, [&](const config::child_spec& c) {
    for (auto& [mode, ref] : c.on)
      EXPECT_TRUE(plan_of(cfg, ref.name)) << ref.name;
  });
}

TEST(Plan, OnlyWhatOnNamesGoesToThePlaybooks) {
  auto cfg = config_of(R"(grace: 1
supervisor:
  children:
    - name: api
      command: [api]
      on: {crashed: restart, exited: safe_hold, port_in_use: free_port}
    - name: db
      command: [db]
)");
  auto& api = first_child(cfg);
  EXPECT_EQ(
    playbooks::routed_to_playbooks(api),
    (std::set<failure_mode>{failure_mode::exited, failure_mode::port_in_use}));
  auto& db = std::get<config::child_spec>(cfg.root.children.at(1).node);
  EXPECT_TRUE(playbooks::routed_to_playbooks(db).empty())
    << "defaults are the supervisor's (a restart) unless on: says otherwise";
}

TEST(PlanFor, BuiltInsTakeTheNodesDeadlinesAUsersPlaybookKeepsItsOwn) {
  auto cfg = config_of(yaml);
  auto& api = first_child(cfg);
  playbooks::builtin_deadlines d{std::chrono::seconds{4},
                                 std::chrono::seconds{7}};
  auto restart = playbooks::plan_for(cfg, &api, failure_mode::crashed, d);
  ASSERT_TRUE(restart);
  EXPECT_EQ(restart->steps.front().timeout, std::chrono::seconds{7});
  EXPECT_EQ(restart->steps.back().within, std::chrono::seconds{4});
  auto leaky = playbooks::plan_for(cfg, &api, failure_mode::resource_spike, d);
  ASSERT_TRUE(leaky);
  EXPECT_EQ(leaky->name, "leaky");
  EXPECT_EQ(leaky->steps.back().within, std::chrono::seconds{10});
  // A component the config no longer has: the mode's default.
  auto gone = playbooks::plan_for(cfg, nullptr, failure_mode::port_in_use, d);
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->name, "free_port");
}
