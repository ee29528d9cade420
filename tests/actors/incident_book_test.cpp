// The incident lifecycle without actors, clocks or files.
#include <gtest/gtest.h>

#include "actors/incident_book.hpp"

using namespace grace::actors;
using grace::runtime::incident_action;
using grace::runtime::incident_status;

namespace {

const std::int64_t wall0 = 1'795'884'208'000'000; // 2026-11-28T16:43:28Z

failure_event crash(const std::string& path, std::int64_t at_ns,
                    std::int32_t pid = 100) {
  failure_event e;
  e.path = path;
  e.what.mode = grace::config::failure_mode::crashed;
  e.what.pid = pid;
  e.what.signal = 9;
  e.what.detail = "killed by SIGKILL";
  e.severity = grace::config::severity::high;
  e.at_ns = at_ns;
  e.wall_us = wall0 + at_ns / 1000;
  return e;
}

incident_action step(const std::string& name) {
  return {name, true, wall0, {}};
}

} // namespace

TEST(IncidentBook, OpensOncePerComponentAndCountsTheRest) {
  incident_book book;
  auto first = book.failed(crash("root/a", 1'000'000));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, incident_status::open);
  EXPECT_EQ(first->failures, 1);
  EXPECT_EQ(first->detected_us, wall0 + 1000);
  EXPECT_FALSE(book.failed(crash("root/a", 2'000'000, 101)));
  EXPECT_FALSE(book.failed(crash("root/a", 3'000'000, 102)));
  auto other = book.failed(crash("root/b", 3'000'000));
  ASSERT_TRUE(other);
  EXPECT_NE(other->id, first->id);
  EXPECT_EQ(book.open_count(), 2u);
  auto* a = book.find("root/a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->inc.failures, 3);
  EXPECT_EQ(a->last.pid, 102);
  EXPECT_EQ(a->inc.actions.size(), 2u); // the two repeated failures
}

TEST(IncidentBook, ResolvesWithTheMttrOfTheSteadyClock) {
  incident_book book;
  book.failed(crash("root/a", 5'000'000));
  book.act("root/a", step("restart"));
  book.act("root/b", step("restart")); // nothing open there: ignored
  EXPECT_FALSE(book.recovered("root/b", "running", 7, 9'000'000, wall0));
  auto done = book.recovered("root/a", "tcp 127.0.0.1:80", 200, 6'250'000,
                             wall0 + 6250);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->status, incident_status::resolved);
  EXPECT_TRUE(done->success());
  ASSERT_TRUE(done->mttr_seconds);
  EXPECT_DOUBLE_EQ(*done->mttr_seconds, 0.00125);
  EXPECT_EQ(done->closed_us, wall0 + 6250);
  EXPECT_EQ(done->attempts, 1);
  ASSERT_EQ(done->actions.size(), 2u);
  EXPECT_EQ(done->actions[1].step, "verify");
  EXPECT_EQ(book.open_count(), 0u);
  EXPECT_FALSE(book.recovered("root/a", "running", 200, 7'000'000, wall0))
    << "resolved only once";
}

TEST(IncidentBook, TimeToDetectOnlyWhenTheFailureTimeIsKnown) {
  incident_book book;
  auto e = crash("root/a", 5'000'000);
  EXPECT_FALSE(book.failed(e)->ttd_seconds);
  auto f = crash("root/b", 5'000'000);
  f.what.failed_ns = 4'960'000;
  EXPECT_DOUBLE_EQ(*book.failed(f)->ttd_seconds, 0.00004);
}

TEST(IncidentBook, TheFailureIsRecordedWholeAndTheLatestKept) {
  incident_book book;
  auto e = crash("root/web", 1'000);
  e.what.mode = grace::config::failure_mode::port_in_use;
  e.what.signal = 0;
  e.what.detail = "port 8080 is held by pid 7 (nginx)";
  e.what.output = "bind: address in use";
  e.what.fields.numbers.emplace_back("port", 8080);
  e.what.fields.numbers.emplace_back("holder_pid", 7);
  e.what.fields.texts.emplace_back("holder_cmd", "nginx");
  auto inc = book.failed(e);
  ASSERT_TRUE(inc);
  EXPECT_EQ(inc->failure_mode, "port_in_use");
  std::vector<std::string> keys;
  for (auto& [k, v] : inc->detail)
    keys.push_back(k);
  EXPECT_EQ(keys,
            (std::vector<std::string>{"pid", "reason", "port", "holder_pid",
                                      "holder_cmd", "output"}));
  auto again = crash("root/web", 2'000, 300);
  again.what.code = 2;
  book.failed(again);
  auto* o = book.find("root/web");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->last.pid, 300);
  EXPECT_EQ(o->last.signal, 9);
  EXPECT_EQ(o->last.code, 2);
  EXPECT_EQ(o->last.detail, "killed by SIGKILL");
}

TEST(IncidentBook, ClosingASubtreeTakesWhatIsUnderItOnly) {
  incident_book book;
  for (auto p :
       {"root/mid", "root/mid/x", "root/mid/y/z", "root/middle", "root/other"})
    book.failed(crash(p, 1'000));
  auto closed = book.close("root/mid", true, incident_status::escalated,
                           "restart intensity exceeded", wall0);
  ASSERT_EQ(closed.size(), 3u);
  EXPECT_EQ(closed[0].inc.component, "root/mid");
  EXPECT_EQ(closed[1].inc.component, "root/mid/x");
  EXPECT_EQ(closed[2].inc.component, "root/mid/y/z");
  for (auto& o : closed) {
    EXPECT_EQ(o.inc.status, incident_status::escalated);
    EXPECT_FALSE(o.inc.success());
    EXPECT_EQ(o.inc.closed_us, wall0);
    EXPECT_EQ(o.inc.detail.back().first, "outcome");
  }
  EXPECT_TRUE(book.find("root/middle")) << "a sibling with a longer name";
  EXPECT_TRUE(book.find("root/other"));
  auto one = book.close("root/other", false, incident_status::held, "", wall0);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].inc.status, incident_status::held);
  auto rest = book.close_all(incident_status::abandoned, "stopped", wall0);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].inc.component, "root/middle");
  EXPECT_EQ(book.open_count(), 0u);
}

TEST(IncidentBook, ActionsStopGrowingAtTheCapButAreStillCounted) {
  incident_book book;
  book.failed(crash("root/a", 1));
  for (int i = 0; i < 200; ++i) {
    book.failed(crash("root/a", 2 + i));
    book.act("root/a", step("restart"));
  }
  auto* a = book.find("root/a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->inc.actions.size(), incident_book::max_actions);
  EXPECT_EQ(a->inc.failures, 201);
  EXPECT_EQ(a->inc.attempts, 200);
  auto done = book.recovered("root/a", "running", 1, 1000, wall0);
  EXPECT_EQ(done->actions.back().step, "verify") << "kept past the cap";
}
