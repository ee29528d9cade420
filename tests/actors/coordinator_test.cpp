// The coordinator, its playbook actors and the tracker on CAF's
// deterministic scheduler, with the node's clock set by the test: a probe
// failure healed, and one whose restart nobody answers. No process, socket
// or wait on the machine's clock: two minutes of deadline pass at once.
#include <caf/scheduler/test_coordinator.hpp>
#include <gtest/gtest.h>

#include "actors/coordinator.hpp"
#include "actors/system.hpp"
#include "actors/tracker.hpp"
#include "runtime/incident.hpp"
#include "tests/actors/test_scheduler.hpp"
#include "tests/support/incident_fields.hpp"

using namespace grace;
using runtime::incident;
using runtime::incident_status;
using test::find_step;

namespace {

constexpr std::int64_t ms = 1'000'000;                // in steady nanoseconds
constexpr std::int64_t wall0 = 1'765'000'000'000'000; // 2025-12-06

class HealingOnTheTestScheduler : public ::testing::Test {
protected:
  HealingOnTheTestScheduler() {
    events_ = sys_.spawn<test::line_sink>(&lines_);
    actors::tracker_options t;
    t.events = events_;
    t.time = time_;
    tracker_ = actors::spawn_tracker(sys_, t);
    actors::coordinator_options c;
    c.tracker = tracker_;
    c.time = time_;
    coordinator_ = actors::spawn_coordinator(sys_, c);
    supervisor_ = sys_.spawn<test::held_supervisor>(&supervisor_asked_);
    child_ = sys_.spawn<test::held_child>(&child_asked_);
    sched_.run();
  }

  ~HealingOnTheTestScheduler() override {
    for (auto& a : {events_, tracker_, coordinator_, supervisor_, child_})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched_.run();
    sys_.await_actors_before_shutdown(false);
  }

  // A probe of root/api raises its failure now; its first failing check
  // started `ttd` earlier.
  void probe_failed(std::int64_t ttd) {
    actors::failure_report f;
    f.path = "root/api";
    f.probe = "http";
    f.what.mode = config::failure_mode::check_failed;
    f.what.pid = 4242;
    f.what.detail = "probe http: status 503";
    f.what.output = "Service Unavailable";
    f.what.failed_ns = time_->steady_ns() - ttd;
    f.at_ns = time_->steady_ns();
    f.child = child_;
    f.supervisor = supervisor_;
    caf::anon_send(coordinator_, std::move(f));
    sched_.run();
  }

  // The incident lines written so far, parsed.
  std::vector<incident> written() const {
    std::vector<incident> out;
    for (auto& line : lines_) {
      auto x = runtime::incident_from_json(line);
      EXPECT_TRUE(x) << line;
      if (x)
        out.push_back(std::move(*x));
    }
    return out;
  }

  std::unique_ptr<caf::actor_system_config> cfg_
    = actors::make_config({true, 0});
  caf::actor_system sys_{*cfg_};
  caf::scheduler::test_coordinator& sched_
    = dynamic_cast<caf::scheduler::test_coordinator&>(sys_.scheduler());
  std::shared_ptr<actors::manual_clock> time_
    = std::make_shared<actors::manual_clock>(5'000 * ms, wall0);
  std::vector<std::string> lines_;
  test::asked supervisor_asked_;
  test::asked child_asked_;
  caf::actor events_, tracker_, coordinator_, supervisor_, child_;
};

} // namespace

TEST_F(HealingOnTheTestScheduler,
       AHealedProbeFailuresTimesAreAllTheNodesClock) {
  probe_failed(30 * ms);
  ASSERT_EQ(supervisor_asked_.restarts, 1) << "the playbook's restart step";
  auto opened = written();
  ASSERT_EQ(opened.size(), 1u);
  EXPECT_EQ(opened[0].status, incident_status::open);
  EXPECT_EQ(opened[0].detected_us, wall0);
  EXPECT_DOUBLE_EQ(opened[0].ttd_seconds.value_or(-1), 0.03);
  EXPECT_EQ(opened[0].playbook, "restart");
  // Restarted 10 ms later, ready with every probe passing 30 ms after that.
  time_->advance(10 * ms);
  caf::anon_send(supervisor_, actors::done_atom::value);
  sched_.run();
  ASSERT_EQ(child_asked_.verifies, 1);
  time_->advance(30 * ms);
  caf::anon_send(child_, actors::done_atom::value);
  sched_.run();
  auto all = written();
  ASSERT_EQ(all.size(), 2u);
  auto& done = all[1];
  EXPECT_EQ(done.status, incident_status::resolved);
  EXPECT_DOUBLE_EQ(done.mttr_seconds.value_or(-1), 0.04);
  EXPECT_EQ(done.closed_us, wall0 + 40'000);
  auto* restart = find_step(done, "restart");
  ASSERT_TRUE(restart);
  EXPECT_TRUE(restart->ok);
  EXPECT_EQ(restart->at_us, wall0 + 10'000);
  auto* verify = find_step(done, "verify");
  ASSERT_TRUE(verify);
  EXPECT_EQ(verify->at_us, wall0 + 40'000);
  EXPECT_TRUE(child_asked_.blocked.empty()) << "healed: nothing to give up";
}

TEST_F(HealingOnTheTestScheduler, ARestartNobodyAnswersFailsAtItsDeadline) {
  probe_failed(0);
  ASSERT_EQ(supervisor_asked_.restarts, 1);
  // The restart step's deadline (restart_within, 2 min) passes at once.
  ASSERT_GT(sched_.trigger_timeouts(), 0u);
  sched_.run();
  auto all = written();
  ASSERT_EQ(all.size(), 2u);
  auto& failed = all[1];
  EXPECT_EQ(failed.status, incident_status::failed);
  auto* restart = find_step(failed, "restart");
  ASSERT_TRUE(restart);
  EXPECT_FALSE(restart->ok);
  EXPECT_EQ(child_asked_.verifies, 0) << "nothing to verify";
  // Its monitors count afresh and the supervisor's rules take it over.
  EXPECT_EQ(child_asked_.unpaused, 1);
  ASSERT_EQ(child_asked_.blocked.size(), 1u);
}
