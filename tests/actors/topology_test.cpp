// depends_on with real processes: when a dependency fails, its dependents'
// incidents are caused by its incident, they are not healed on their own
// while it is down, and once it is ready again each is restarted exactly
// once, in dependency order, and verified.
#include <csignal>

#include "tests/actors/supervision_fixture.hpp"
#include "tests/support/ports.hpp"

using namespace grace;
using namespace std::chrono_literals;
using runtime::incident;
using runtime::incident_status;
using test::never_within;
using test::Supervision;
using test::wait_until;

namespace {

// db (listening on a free port, after `delay` ms), api depends on db, web
// on api.
std::string chain(int delay = 0) {
  auto p = test::free_port_text();
  return "grace: 1\ndefaults: {backoff: {min: 0s}}\nsupervisor:\n"
         "  intensity: 10\n  children:\n"
         "    - name: db\n"
         "      command: [CRASHY, --stamp, DIR/db.stamp, --sleep, \""
         + std::to_string(delay) + "\", --listen, \"" + p
         + "\"]\n"
           "      ready: {tcp: "
         + p
         + ", within: 60s}\n"
           "    - {name: api, command: [CRASHY, --stamp, DIR/api.stamp], "
           "depends_on: [root/db]}\n"
           "    - {name: web, command: [CRASHY, --stamp, DIR/web.stamp], "
           "depends_on: [root/api]}\n";
}

const incident* last_of(const std::vector<incident>& xs,
                        const std::string& component) {
  const incident* found = nullptr;
  for (auto& x : xs)
    if (x.component == component)
      found = &x;
  return found;
}

} // namespace

TEST_F(Supervision, DependentsAreRestartedOnceInOrderAfterTheirDependency) {
  start(chain());
  ASSERT_TRUE(wait_report(actors::report_kind::ready));
  ASSERT_TRUE(wait_up({"db", "api", "web"}));
  kill_child("db");
  ASSERT_TRUE(wait_closed(3)) << "db's, api's and web's incidents";
  auto all = closed_incidents();
  auto* db = last_of(all, "root/db");
  auto* api = last_of(all, "root/api");
  auto* web = last_of(all, "root/web");
  ASSERT_TRUE(db && api && web);
  EXPECT_EQ(db->status, incident_status::resolved);
  EXPECT_EQ(db->failure_mode, "crashed");
  for (auto* x : {api, web}) {
    EXPECT_EQ(x->status, incident_status::resolved) << x->component;
    EXPECT_EQ(x->failure_mode, "dependency_failed");
    EXPECT_EQ(x->playbook, "restart_dependents");
    ASSERT_TRUE(x->caused_by);
    EXPECT_EQ(*x->caused_by, db->id) << "the root cause, for web too";
  }
  // In dependency order: web restarted once api was verified.
  std::int64_t web_restarted = 0;
  for (auto& a : web->actions)
    if (a.step == "restart")
      web_restarted = a.at_us;
  ASSERT_TRUE(api->closed_us);
  EXPECT_LE(*api->closed_us, web_restarted) << "in dependency order";
  ASSERT_TRUE(wait_starts("api", 2));
  ASSERT_TRUE(wait_starts("web", 2));
  // Exactly once: nothing restarts them again.
  EXPECT_TRUE(never_within(
    [&] { return starts("api").size() > 2 || starts("web").size() > 2; },
    300ms));
  EXPECT_EQ(starts("db").size(), 2u);
}

TEST_F(Supervision, ADependentFailingWhileItsDependencyIsDownWaitsForIt) {
  // db's replacement takes 1.5 s to listen: api dies meanwhile.
  start(chain(1500));
  ASSERT_TRUE(wait_report(actors::report_kind::ready));
  ASSERT_TRUE(wait_up({"db", "api", "web"}));
  kill_child("db");
  // api has its incident (caused by db's) before it is killed.
  ASSERT_TRUE(wait_until([&] {
    for (auto& x : incident_lines())
      if (x.component == "root/api")
        return true;
    return false;
  }));
  // (Still down: otherwise this test proves nothing.)
  ASSERT_EQ(logs_->count("root/db: ready"), 1u);
  kill_child("api");
  ASSERT_TRUE(wait_closed(3));
  auto all = closed_incidents();
  auto* db = last_of(all, "root/db");
  auto* api = last_of(all, "root/api");
  ASSERT_TRUE(db && api);
  EXPECT_EQ(api->status, incident_status::resolved);
  EXPECT_EQ(api->failure_mode, "dependency_failed");
  EXPECT_EQ(api->failures, 2) << "its crash counted on the same incident";
  ASSERT_TRUE(api->caused_by);
  EXPECT_EQ(*api->caused_by, db->id);
  // Not restarted on its own while db was down: once, after db.
  ASSERT_TRUE(wait_starts("api", 2));
  EXPECT_GT(start_times("api").back(), start_times("db").back());
  EXPECT_TRUE(never_within([&] { return starts("api").size() > 2; }, 300ms));
}

TEST_F(Supervision, ADependentItsStrategyRestartedIsNotRestartedAgain) {
  // rest_for_one restarts api after db already: restart_dependents sees a
  // fresh api and leaves it alone.
  start("grace: 1\ndefaults: {backoff: {min: 0s}}\nsupervisor:\n"
        "  strategy: rest_for_one\n  intensity: 10\n  children:\n"
        "    - {name: db, command: [CRASHY, --stamp, DIR/db.stamp]}\n"
        "    - {name: api, command: [CRASHY, --stamp, DIR/api.stamp], "
        "depends_on: [root/db]}\n");
  ASSERT_TRUE(wait_report(actors::report_kind::ready));
  ASSERT_TRUE(wait_up({"db", "api"}));
  kill_child("db");
  ASSERT_TRUE(wait_closed(2));
  auto all = closed_incidents();
  auto* api = last_of(all, "root/api");
  ASSERT_TRUE(api);
  EXPECT_EQ(api->status, incident_status::resolved);
  EXPECT_EQ(api->failure_mode, "dependency_failed");
  ASSERT_TRUE(wait_starts("api", 2));
  EXPECT_TRUE(never_within([&] { return starts("api").size() > 2; }, 300ms))
    << "restarted once, by its strategy";
}

TEST_F(Supervision, ADependencyOnAnotherNodeIsFollowedAsTheClusterTellsIt) {
  // db runs on node b, web on node c; this is node a.
  start("grace: 1\ndefaults: {backoff: {min: 0s}}\n"
        "cluster:\n  node: a\n  nodes: {a: 127.0.0.1:1, b: 127.0.0.1:2, "
        "c: 127.0.0.1:3}\n"
        "supervisor:\n  intensity: 10\n  children:\n"
        "    - {name: db, nodes: [b], command: [CRASHY, --stamp, "
        "DIR/db.stamp]}\n"
        "    - {name: api, command: [CRASHY, --stamp, DIR/api.stamp], "
        "depends_on: [root/db]}\n"
        "    - {name: web, nodes: [c], command: [CRASHY, --stamp, "
        "DIR/web.stamp], depends_on: [root/db]}\n");
  ASSERT_TRUE(wait_report(actors::report_kind::ready));
  EXPECT_TRUE(never_within([&] { return !starts("api").empty(); }, 300ms))
    << "api waits for db to be ready on its node";
  // The cluster: db is ready on b.
  ASSERT_FALSE(operate("release", "root/api"));
  ASSERT_TRUE(wait_starts("api", 1));
  // db fails on b, then is back.
  caf::anon_send(
    coordinator_, actors::dep_down_atom::value, std::string{"root/db"},
    config::failure_mode::crashed, std::string{"on node b: killed by SIGKILL"},
    actors::machine_clock()->steady_ns(), actors::remote_atom::value);
  ASSERT_TRUE(wait_until([&] {
    for (auto& x : incident_lines())
      if (x.component == "root/api")
        return true;
    return false;
  }));
  caf::anon_send(coordinator_, actors::dep_up_atom::value,
                 std::string{"root/db"}, actors::remote_atom::value);
  ASSERT_TRUE(wait_closed(1));
  auto all = closed_incidents();
  ASSERT_EQ(all.size(), 1u) << "none for web, which runs on c";
  EXPECT_EQ(all[0].component, "root/api");
  EXPECT_EQ(all[0].status, incident_status::resolved);
  EXPECT_EQ(all[0].failure_mode, "dependency_failed");
  EXPECT_FALSE(all[0].caused_by) << "db's incident is b's";
  ASSERT_TRUE(wait_starts("api", 2)) << "restarted once db was back";
  EXPECT_TRUE(starts("web").empty());
  EXPECT_TRUE(starts("db").empty());
}
