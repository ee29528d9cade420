// Containment under `grace run` (SPEC.md section 3): nothing a component
// starts outlives it - a descendant that leaves its process group (setsid,
// as daemons' helpers do) included - nothing outlives a SIGKILLed grace,
// and what an earlier grace left is killed and recorded at the next start.
#include <chrono>
#include <csignal>
#include <filesystem>

#include <pwd.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/e2e/grace_run_fixture.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using grace::test::alive;
using grace::test::background;
using grace::test::crashy;
using grace::test::ctl;
using grace::test::grace_bin;
using grace::test::GraceRun;
using grace::test::lines_of;
using grace::test::never_within;
using grace::test::scoped_env;
using grace::test::slurp;
using grace::test::wait_until;

TEST_F(GraceRun, SigkilledGraceLeavesNoChildren) {
  auto g = run(write_config(child("a") + child("b")));
  ASSERT_TRUE(wait_until([&] { return first_pid("b.stamp") > 1; }));
  auto a = first_pid("a.stamp");
  auto b = first_pid("b.stamp");
  g->signal(SIGKILL);
  EXPECT_EQ(g->wait(5s), 128 + SIGKILL);
  EXPECT_TRUE(wait_until([&] { return !alive(a) && !alive(b); }));
}

TEST_F(GraceRun, SigkilledGraceLeavesNoUserChild) {
  // The parent-death signal is set after the switch of user, which clears
  // it.
  if (::geteuid() != 0)
    GTEST_SKIP() << "switching users needs root";
  auto g = run(write_config("    - {name: x, user: nobody, cwd: /, command: "
                            "[/bin/sleep, \"3600\"]}\n"));
  int pid = 0;
  ASSERT_TRUE(wait_until([&] {
    auto log = err();
    auto at = log.find("root/x: started (pid ");
    if (at == std::string::npos)
      return false;
    pid = std::atoi(log.c_str() + at + 21);
    return pid > 1;
  }))
    << err();
  ASSERT_TRUE(alive(pid));
  auto* nobody = ::getpwnam("nobody");
  ASSERT_NE(nobody, nullptr);
  EXPECT_NE(slurp("/proc/" + std::to_string(pid) + "/status")
              .find("Uid:\t" + std::to_string(nobody->pw_uid) + "\t"),
            std::string::npos);
  g->signal(SIGKILL);
  EXPECT_EQ(g->wait(5s), 128 + SIGKILL);
  EXPECT_TRUE(wait_until([&] { return !alive(pid); })) << "pid " << pid;
  grace::test::kill_if_alive(pid);
}

TEST_F(GraceRun, OrphanedGrandchildrenAreReaped) {
  // The grandchild leaves the process group, outlives its parent (grace
  // restarts the parent), is re-parented to grace and must be reaped when
  // it exits, not left a zombie.
  auto g = run(write_config(
    child("a", "--first-run, " + dir_ + "/once, --orphan, " + dir_
                 + "/orphan.pid, \"300\", --sleep, \"50\", --exit, \"1\"")));
  ASSERT_TRUE(wait_until([&] { return !slurp(dir_ + "/orphan.pid").empty(); }));
  auto orphan = std::stoi(slurp(dir_ + "/orphan.pid"));
  ASSERT_GT(orphan, 1);
  // Gone entirely (not even a zombie): reaped by grace, its new parent.
  EXPECT_TRUE(
    wait_until([&] { return !fs::exists("/proc/" + std::to_string(orphan)); }));
  g->signal(SIGTERM);
  EXPECT_EQ(g->wait(10s), 0) << err();
}

TEST_F(GraceRun, ADescendantInAnotherSessionDiesWithItsComponent) {
  auto g = run(write_config(child(
    "a", "--first-run, " + dir_ + "/once, --orphan, " + dir_
           + "/orphan.pid, \"600000\", --sleep, \"100\", --exit, \"1\"")));
  if (instance_cgroup().empty())
    GTEST_SKIP() << "no writable cgroup v2 here: " << err();
  auto orphan = pid_in(dir_ + "/orphan.pid");
  ASSERT_GT(orphan, 1);
  // The component crashed and was restarted; its setsid descendant went
  // with it, not 600 s later.
  EXPECT_TRUE(
    wait_until([&] { return lines_of(dir_ + "/a.stamp").size() >= 2; }))
    << err();
  EXPECT_TRUE(wait_until([&] { return !alive(orphan); })) << "pid " << orphan;
  grace::test::kill_if_alive(orphan);
  g->signal(SIGTERM);
  EXPECT_EQ(g->wait(10s), 0) << err();
}

TEST_F(GraceRun,
       StoppingTheTreeKillsDescendantsInOtherSessionsAndRemovesItsCgroups) {
  auto g = run(
    write_config(child("a", "--orphan, " + dir_ + "/orphan.pid, \"600000\"")));
  auto cgroup = instance_cgroup();
  if (cgroup.empty())
    GTEST_SKIP() << "no writable cgroup v2 here: " << err();
  auto orphan = pid_in(dir_ + "/orphan.pid");
  ASSERT_GT(orphan, 1);
  EXPECT_NE(
    slurp("/proc/" + std::to_string(orphan) + "/cgroup").find("/root/a"),
    std::string::npos);
  g->signal(SIGTERM);
  EXPECT_EQ(g->wait(10s), 0) << err();
  EXPECT_TRUE(wait_until([&] { return !alive(orphan); })) << "pid " << orphan;
  grace::test::kill_if_alive(orphan);
  EXPECT_FALSE(fs::exists(cgroup)) << cgroup;
}

TEST_F(GraceRun, ASigkilledGraceLeavesNoDescendantInAnySession) {
  auto g = run(
    write_config(child("a", "--orphan, " + dir_ + "/orphan.pid, \"600000\"")
                 + child("b", "--grandchild, " + dir_ + "/grandchild.pid")));
  if (instance_cgroup().empty())
    GTEST_SKIP() << "no writable cgroup v2 here: " << err();
  auto orphan = pid_in(dir_ + "/orphan.pid");
  auto grandchild = pid_in(dir_ + "/grandchild.pid");
  ASSERT_GT(orphan, 1);
  ASSERT_GT(grandchild, 1);
  g->signal(SIGKILL);
  EXPECT_EQ(g->wait(5s), 128 + SIGKILL);
  // The guardian: grace's end of its pipe closed, it killed the cgroups.
  EXPECT_TRUE(wait_until([&] { return !alive(orphan) && !alive(grandchild); }))
    << "pids " << orphan << ", " << grandchild;
  grace::test::kill_if_alive(orphan);
  grace::test::kill_if_alive(grandchild);
}

TEST_F(GraceRun, WithoutCgroupsTheGuardianKillsTheProcessGroups) {
  // A grandchild in its parent's process group has no parent-death signal
  // of its own: only the guardian can take it down after a SIGKILL.
  std::unique_ptr<background> g;
  {
    scoped_env off{"GRACE_CGROUPS", "off"};
    g = run(
      write_config(child("a", "--grandchild, " + dir_ + "/grandchild.pid")));
  }
  EXPECT_EQ(instance_cgroup(), "");
  EXPECT_NE(err().find("containment: GRACE_CGROUPS=off; keeping to process "
                       "groups"),
            std::string::npos)
    << err();
  auto grandchild = pid_in(dir_ + "/grandchild.pid");
  ASSERT_GT(grandchild, 1);
  ASSERT_TRUE(wait_until(
    [&] { return err().find("guardian: pid") != std::string::npos; }));
  g->signal(SIGKILL);
  EXPECT_EQ(g->wait(5s), 128 + SIGKILL);
  EXPECT_TRUE(wait_until([&] { return !alive(grandchild); }))
    << "pid " << grandchild;
  grace::test::kill_if_alive(grandchild);
}

TEST_F(GraceRun, WhatAnEarlierGraceLeftIsKilledAndRecordedAtTheNextStart) {
  // Grace and its guardian both SIGKILLed: nothing acted, the setsid
  // descendant lives on in its cgroup until grace starts again.
  auto config
    = write_config(child("a", "--orphan, " + dir_ + "/orphan.pid, \"600000\""));
  auto g = run(config);
  if (instance_cgroup().empty())
    GTEST_SKIP() << "no writable cgroup v2 here: " << err();
  auto orphan = pid_in(dir_ + "/orphan.pid");
  ASSERT_GT(orphan, 1);
  int guardian = 0;
  ASSERT_TRUE(wait_until([&] {
    auto log = err();
    auto at = log.find("guardian: pid ");
    if (at != std::string::npos)
      guardian = std::atoi(log.c_str() + at + 14);
    return guardian > 1;
  }))
    << err();
  ::kill(guardian, SIGKILL);
  g->signal(SIGKILL);
  EXPECT_EQ(g->wait(5s), 128 + SIGKILL);
  ASSERT_TRUE(alive(orphan));
  fs::remove(dir_ + "/orphan.pid");
  auto again = run(config);
  EXPECT_TRUE(wait_until([&] { return !alive(orphan); })) << "pid " << orphan;
  grace::test::kill_if_alive(orphan);
  auto audit = dir_ + "/logs/incidents.jsonl";
  std::string record;
  EXPECT_TRUE(wait_until([&] {
    for (auto& line : lines_of(audit))
      if (line.find("\"orphaned\"") != std::string::npos
          && line.find("\"resolved\"") != std::string::npos)
        record = line;
    return !record.empty();
  }))
    << slurp(audit);
  EXPECT_NE(record.find("\"component\":\"root/a\""), std::string::npos)
    << record;
  EXPECT_NE(record.find("\"step\":\"orphans_cleaned\""), std::string::npos)
    << record;
  EXPECT_NE(record.find("\"pids\":\"" + std::to_string(orphan)),
            std::string::npos)
    << record;
  // And the component runs again, in a cgroup made afresh.
  auto next = pid_in(dir_ + "/orphan.pid");
  EXPECT_GT(next, 1);
  EXPECT_TRUE(alive(next));
  again->signal(SIGTERM);
  EXPECT_EQ(again->wait(10s), 0) << err();
  EXPECT_FALSE(alive(next));
}

TEST_F(GraceRun, ARestartEndsWithTheWholeCgroupAndTheNextInstanceRuns) {
  // It ignores SIGTERM: the stop ends with SIGKILL to all of its cgroup,
  // which must not stand in the way of the next start.
  auto g = run(write_config("    - {name: a, shutdown: 200ms, command: ["
                            + crashy + ", --stamp, " + dir_
                            + "/a.stamp, --ignore-term, --orphan, " + dir_
                            + "/orphan.pid, \"600000\"]}\n"));
  if (instance_cgroup().empty())
    GTEST_SKIP() << "no writable cgroup v2 here: " << err();
  auto orphan = pid_in(dir_ + "/orphan.pid");
  ASSERT_GT(orphan, 1);
  fs::remove(dir_ + "/orphan.pid");
  auto restart = ctl(dir_, {"restart", "root/a"});
  ASSERT_EQ(restart.exit_code, 0) << restart.err << err();
  EXPECT_FALSE(alive(orphan)) << "pid " << orphan;
  grace::test::kill_if_alive(orphan);
  auto next = pid_in(dir_ + "/orphan.pid");
  ASSERT_GT(next, 1);
  auto stamps = lines_of(dir_ + "/a.stamp");
  ASSERT_EQ(stamps.size(), 2u);
  auto second = std::stoi(stamps[1]);
  EXPECT_TRUE(
    never_within([&] { return !alive(second) || !alive(next); }, 300ms))
    << "the new instance was killed: " << err();
  g->signal(SIGTERM);
  EXPECT_EQ(g->wait(10s), 0) << err();
  EXPECT_FALSE(alive(next));
}

TEST_F(GraceRun, AConfinementThatCannotBeSetUpIsASandboxFailure) {
  auto g = run(write_config("    - {name: a, cwd: " + dir_
                              + "/no/such/dir, command: [" + crashy + "]}\n",
                            "  intensity: 1\n  period: 10s\n"));
  EXPECT_EQ(g->wait(10s), 3) << err();
  auto audit = slurp(dir_ + "/logs/incidents.jsonl");
  EXPECT_NE(audit.find("\"failure_mode\":\"sandbox_failed\""),
            std::string::npos)
    << audit;
  EXPECT_EQ(audit.find("\"failure_mode\":\"spawn_failed\""), std::string::npos)
    << audit;
}

TEST_F(GraceRun, AMemoryLimitWithoutItsControllerIsRefusedWithTheReason) {
  // Valid for `grace check`; `grace run` refuses it rather than run the
  // component without the limit it was given.
  scoped_env off{"GRACE_CGROUPS", "off"};
  auto file = tmp_.write("grace.yaml", "grace: 1\nsupervisor:\n  children:\n"
                                       "    - name: db\n      command: [x]\n"
                                       "      limits: {memory: 512MiB}\n");
  EXPECT_EQ(grace::test::run_process({grace_bin, "check", file}).exit_code, 0);
  auto r = grace::test::run_process({grace_bin, "run", file});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, file
                     + ":6:24: error: root/db: limits.memory (memory.max of "
                       "its cgroup) cannot be set on this host: no cgroups: "
                       "GRACE_CGROUPS=off\n"
                       "grace: 1 error in "
                     + file + "\n");
}

TEST_F(GraceRun, AKillByTheMemoryLimitIsOomKilled) {
  // The first run grows past its limit; the next one only sleeps.
  auto g = run(write_config(
    "    - name: a\n      limits: {memory: 32MiB}\n      command: [" + crashy
    + ", --stamp, " + dir_ + "/a.stamp, --first-run, " + dir_
    + "/once, --grow, \"8\", \"4096\"]\n"));
  // Started, or refused: no memory controller for grace's cgroups here.
  ASSERT_TRUE(wait_until([&] {
    return g->wait(0ms).has_value() || !lines_of(dir_ + "/a.stamp").empty();
  }))
    << err();
  if (g->wait(0ms).has_value()) {
    ASSERT_NE(err().find("cannot be set on this host"), std::string::npos)
      << err();
    GTEST_SKIP() << err();
  }
  auto audit = dir_ + "/logs/incidents.jsonl";
  std::string record;
  EXPECT_TRUE(wait_until(
    [&] {
      for (auto& line : lines_of(audit))
        if (line.find("\"oom_killed\"") != std::string::npos
            && line.find("\"resolved\"") != std::string::npos)
          record = line;
      return !record.empty();
    },
    30s))
    << slurp(audit) << err();
  EXPECT_NE(record.find("out of memory: limits.memory 32MiB"),
            std::string::npos)
    << record;
  EXPECT_EQ(lines_of(dir_ + "/a.stamp").size(), 2u);
  g->signal(SIGTERM);
  EXPECT_EQ(g->wait(10s), 0) << err();
}
