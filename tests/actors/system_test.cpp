#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <gtest/gtest.h>

#include "actors/messages.hpp"
#include "actors/system.hpp"

using namespace std::chrono_literals;

namespace {

using ping_atom = caf::atom_constant<caf::atom("ping")>;

class echo : public caf::event_based_actor {
public:
  explicit echo(caf::actor_config& cfg) : caf::event_based_actor(cfg) {}

  caf::behavior make_behavior() override {
    return {[](ping_atom, int x) { return x + 1; }};
  }
};

class asker : public caf::event_based_actor {
public:
  asker(caf::actor_config& cfg, caf::actor target, int* reply)
      : caf::event_based_actor(cfg), target_(std::move(target)), reply_(reply) {
  }

  caf::behavior make_behavior() override {
    request(target_, 1s, ping_atom::value, 41)
      .then([this](int x) { *reply_ = x; }, [](caf::error&) {});
    return {[](int) {}};
  }

private:
  caf::actor target_;
  int* reply_;
};

// Answers pings only; everything else is stray.
class strict : public caf::event_based_actor {
public:
  explicit strict(caf::actor_config& cfg) : caf::event_based_actor(cfg) {}

  caf::behavior make_behavior() override {
    grace::actors::log_stray_messages(this);
    return {[](ping_atom, int x) { return x + 1; }};
  }
};

// Sends `strict` a stray message, then a ping; counts what else comes back.
// Keeps CAF's default error handler: an error back would make it quit.
class straying : public caf::event_based_actor {
public:
  straying(caf::actor_config& cfg, caf::actor target, int* reply, int* stray)
      : caf::event_based_actor(cfg), target_(std::move(target)), reply_(reply),
        stray_(stray) {}

  caf::behavior make_behavior() override {
    set_default_handler(
      [this](caf::scheduled_actor*,
             caf::message_view&) -> caf::result<caf::message> {
        ++*stray_;
        return caf::delegated<caf::message>{};
      });
    send(target_, std::string{"stray"});
    request(target_, 1s, ping_atom::value, 1)
      .then([this](int x) { *reply_ = x; }, [](caf::error&) {});
    return {[](int) {}};
  }

private:
  caf::actor target_;
  int* reply_;
  int* stray_;
};

} // namespace

TEST(ActorSystem, AStrayMessageIsDroppedWithNothingSentBack) {
  auto cfg = grace::actors::make_config({true, 0});
  caf::actor_system sys{*cfg};
  auto* sched
    = dynamic_cast<caf::scheduler::test_coordinator*>(&sys.scheduler());
  ASSERT_NE(sched, nullptr);
  auto target = sys.spawn<strict>();
  int reply = 0;
  int stray = 0;
  auto sender = sys.spawn<straying>(target, &reply, &stray);
  sched->run();
  EXPECT_EQ(stray, 0) << "nothing came back for the stray message";
  EXPECT_EQ(reply, 2) << "both still serve: neither quit";
  caf::anon_send_exit(sender, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(target, caf::exit_reason::user_shutdown);
  sched->run();
  sys.await_actors_before_shutdown(false);
}

TEST(ActorSystem, DeterministicConfigUsesTheTestScheduler) {
  auto cfg = grace::actors::make_config({true, 0});
  caf::actor_system sys{*cfg};
  auto* sched
    = dynamic_cast<caf::scheduler::test_coordinator*>(&sys.scheduler());
  ASSERT_NE(sched, nullptr);
  auto a = sys.spawn<echo>();
  int reply = 0;
  auto q = sys.spawn<asker>(a, &reply);
  sched->run();
  EXPECT_EQ(reply, 42);
  for (auto& h : {a, q})
    caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
  sched->run();
  sys.await_actors_before_shutdown(false);
}

TEST(ActorSystem, ThreadedConfigServesRequests) {
  grace::actors::system_options opts{false, 2};
  EXPECT_EQ(grace::actors::scheduler_threads(opts), 2u);
  EXPECT_GE(grace::actors::scheduler_threads({false, 0}), 2u);
  auto cfg = grace::actors::make_config(opts);
  caf::actor_system sys{*cfg};
  EXPECT_EQ(sys.scheduler().num_workers(), 2u);
  auto a = sys.spawn<echo>();
  {
    caf::scoped_actor self{sys};
    int reply = 0;
    self->request(a, 30s, ping_atom::value, 1)
      .receive([&](int x) { reply = x; },
               [&](caf::error& e) { FAIL() << sys.render(e); });
    EXPECT_EQ(reply, 2);
    self->send_exit(a, caf::exit_reason::user_shutdown);
  }
}

TEST(Messages, ChildReportSurvivesTheWire) {
  // What a process actor on another node would send its supervisor.
  auto cfg = grace::actors::make_config({true, 0});
  caf::actor_system sys{*cfg};
  grace::actors::child_report r;
  r.path = "root/workers/w-2";
  r.kind = grace::actors::report_kind::exited;
  r.pid = 4243;
  r.what.pid = 4242;
  r.what.code = 3;
  r.what.signal = 0;
  r.what.detail = "exited with code 3";
  r.what.mode = grace::config::failure_mode::port_in_use; // not the default
  r.what.output = "address in use";
  r.what.failed_ns = 123456000;
  r.what.fields.numbers.emplace_back("port", 8080);
  r.what.fields.texts.emplace_back("holder_cmd", "nginx: master");
  r.at_ns = 123456789;
  r.restarted = true;
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  ASSERT_FALSE(sink(r));
  grace::actors::child_report back;
  caf::binary_deserializer source{sys, buf};
  ASSERT_FALSE(source(back));
  EXPECT_EQ(back.path, r.path);
  EXPECT_EQ(back.kind, r.kind);
  EXPECT_EQ(back.pid, r.pid);
  EXPECT_EQ(back.what.pid, r.what.pid);
  EXPECT_EQ(back.what.code, r.what.code);
  EXPECT_EQ(back.what.detail, r.what.detail);
  EXPECT_EQ(back.what.mode, r.what.mode);
  EXPECT_EQ(back.what.output, r.what.output);
  EXPECT_EQ(back.what.failed_ns, r.what.failed_ns);
  EXPECT_EQ(back.what.fields.numbers, r.what.fields.numbers);
  EXPECT_EQ(back.what.fields.texts, r.what.fields.texts);
  EXPECT_EQ(back.at_ns, r.at_ns);
  EXPECT_TRUE(back.restarted);
  // Registered under its name, so a remote node can decode it.
  auto& name
    = sys.types().portable_name(0, &typeid(grace::actors::child_report));
  EXPECT_EQ(name, "grace.child_report");
  sys.await_actors_before_shutdown(false);
}
