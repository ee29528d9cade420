// Containment in cgroup v2: finding the hierarchy, spawning into a
// component's cgroup, killing all of it, and what an earlier grace left.
#include <chrono>
#include <csignal>
#include <fstream>
#include <future>

#include <gtest/gtest.h>

#include "runtime/cgroup.hpp"
#include "runtime/io_loop.hpp"
#include "runtime/proc_stat.hpp"
#include "runtime/process.hpp"
#include "tests/support/proc.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/wait_until.hpp"

using namespace grace::runtime;
using namespace std::chrono_literals;
using grace::test::alive;
using grace::test::slurp;
using grace::test::wait_until;

namespace {

const std::string crashy = GRACE_CRASHY_CHILD;

TEST(Cgroup2Mount, IsFoundWhereverMountinfoSaysItIs) {
  grace::test::temp_dir tmp{"cgroup-mount"};
  // A hybrid host (v1 controllers, v2 at .../unified), then a unified one.
  auto hybrid = tmp.write(
    "hybrid",
    "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n");
  EXPECT_EQ(cgroup2_mount(hybrid), "/sys/fs/cgroup/unified");
  auto unified
    = tmp.write("unified", "25 20 0:22 / /sys/fs/cgroup rw,nosuid shared:9 - "
                           "cgroup2 cgroup2 rw,nsdelegate\n");
  EXPECT_EQ(cgroup2_mount(unified), "/sys/fs/cgroup");
  auto none = tmp.write("none", "22 1 0:20 / /proc rw - proc proc rw\n");
  EXPECT_EQ(cgroup2_mount(none), "");
  auto blank = tmp.write(
    "blank", "40 30 0:37 / /mnt/my\\040cgroups rw - cgroup2 cgroup2 rw\n");
  EXPECT_EQ(cgroup2_mount(blank), "/mnt/my cgroups");
}

TEST(CgroupMemory, WhereTheControllerIsBoundAndWhatItsOomKillerDid) {
  // /proc/self/cgroup of a hybrid host (memory on v1), then a unified one.
  auto hybrid = "9:name=systemd:/\n4:memory:/a/b\n3:cpu,cpuacct:/\n0::/\n";
  EXPECT_TRUE(bound_to_cgroup_v1(hybrid, "memory"));
  EXPECT_TRUE(bound_to_cgroup_v1(hybrid, "cpuacct"));
  EXPECT_FALSE(bound_to_cgroup_v1(hybrid, "pids"));
  EXPECT_FALSE(
    bound_to_cgroup_v1("0::/system.slice/grace.service\n", "memory"));
  EXPECT_EQ(oom_kills_in("low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\n"
                         "oom_group_kill 0\n"),
            2);
  EXPECT_EQ(oom_kills_in("low 0\nhigh 0\n"), -1);
  EXPECT_EQ(oom_kills_in(""), -1);
}

class Containment : public ::testing::Test {
protected:
  void SetUp() override {
    std::string why;
    cg_ = containment::open(tmp_.path() + "/logs", &why);
    if (!cg_)
      GTEST_SKIP() << "no writable cgroup v2 here: " << why;
  }

  ~Containment() override {
    for (auto pid : pids_)
      grace::test::kill_if_alive(pid);
    loop_.stop();
    if (cg_) {
      cgroup_kill_and_wait(cg_->dir(), 5s);
      cg_->remove_empty();
    }
  }

  spawn_options opts(std::vector<std::string> args, int cgroup) {
    spawn_options o;
    o.argv = {crashy};
    o.argv.insert(o.argv.end(), args.begin(), args.end());
    o.env = {"PATH=/usr/bin:/bin"};
    o.cgroup = cgroup;
    return o;
  }

  // Spawns on the I/O thread; the future is set once watch_exit() calls
  // back, with the exit and whether `also` was alive then.
  std::future<std::pair<exit_status, bool>> start(
    spawn_options o, std::function<bool()> also = [] { return false; }) {
    auto done = std::make_shared<std::promise<std::pair<exit_status, bool>>>();
    auto fut = done->get_future();
    std::promise<int> spawned;
    loop_.post([&, o, done, also] {
      auto r = spawn(o);
      auto* c = std::get_if<child_process>(&r);
      if (!c) {
        spawned.set_value(-1);
        return;
      }
      pids_.push_back(c->pid);
      spawned.set_value(c->pid);
      watch_exit(
        loop_, c->pid, std::move(c->pidfd),
        [done, also](int, exit_status s) {
          done->set_value({s, also()});
        },
        o.cgroup);
    });
    last_pid_ = spawned.get_future().get();
    return fut;
  }

  grace::test::temp_dir tmp_{"containment"};
  std::shared_ptr<containment> cg_;
  io_loop loop_;
  std::vector<int> pids_;
  int last_pid_ = -1;
};

TEST_F(Containment, TheInstanceIsNamedForItsLogDirAndAComponentNestsInIt) {
  std::string why;
  auto same = containment::open(tmp_.path() + "/logs/", &why);
  ASSERT_TRUE(same) << why;
  EXPECT_EQ(same->dir(), cg_->dir());
  grace::test::temp_dir other_dir{"containment-other"};
  auto other = containment::open(other_dir.path() + "/logs", &why);
  ASSERT_TRUE(other) << why;
  EXPECT_NE(other->dir(), cg_->dir());
  other->remove_empty();
  EXPECT_GE(cg_->component("root/web/api"), 0);
  EXPECT_TRUE(std::filesystem::is_directory(cg_->dir() + "/root/web/api"));
}

TEST_F(Containment, ComponentsGetTheMemoryControllerOnlyWhereGraceHasIt) {
  EXPECT_NE(cg_->no_memory().find("without limits.memory"), std::string::npos)
    << cg_->no_memory();
  grace::test::temp_dir other_dir{"containment-memory"};
  std::string why;
  auto cg = containment::open(other_dir.path() + "/logs", &why, true);
  ASSERT_TRUE(cg) << why;
  auto fd = cg->component("root/web/api");
  ASSERT_GE(fd, 0);
  auto parent = std::filesystem::path{cg->dir()}.parent_path().string();
  auto done = [&] {
    cg->remove_empty();
    cg->give_back({});
  };
  if (slurp(parent + "/cgroup.controllers").find("memory")
      == std::string::npos) {
    EXPECT_NE(cg->no_memory().find("has no memory controller"),
              std::string::npos)
      << cg->no_memory();
    EXPECT_EQ(cgroup_oom_kills(fd), -1);
    EXPECT_FALSE(cgroup_set_memory_max(fd, 64 << 20));
    return done();
  }
  if (!cg->no_memory().empty()) {
    done();
    GTEST_SKIP() << cg->no_memory(); // its cgroup holds other processes
  }
  EXPECT_NE(
    slurp(cg->dir() + "/root/web/cgroup.subtree_control").find("memory"),
    std::string::npos);
  EXPECT_EQ(cgroup_oom_kills(fd), 0);
  EXPECT_TRUE(cgroup_set_memory_max(fd, 64 << 20));
  EXPECT_EQ(slurp(cg->dir() + "/root/web/api/memory.max"), "67108864\n");
  done();
}

TEST_F(Containment, AResourceSampleCountsAllOfTheCgroup) {
  // Two processes in one cgroup, neither the other's descendant (as a
  // double-forked helper, re-parented to grace, is not).
  auto fd = cg_->component("root/a");
  ASSERT_GE(fd, 0);
  start(opts({}, fd));
  auto main = last_pid_;
  ASSERT_GT(main, 0);
  start(opts({}, fd));
  ASSERT_GT(last_pid_, 0);
  auto tree = sample_tree(main);
  ASSERT_TRUE(tree);
  EXPECT_EQ(tree->processes, 1u);
  auto cgroup = sample_tree(main, fd);
  ASSERT_TRUE(cgroup);
  EXPECT_EQ(cgroup->processes, 2u);
  EXPECT_GT(cgroup->rss_bytes, tree->rss_bytes);
  EXPECT_FALSE(sample_tree(999999, fd)); // no such main process
}

TEST_F(Containment, TheExitIsReportedOnlyOnceWhatItLeftIsGone) {
  auto fd = cg_->component("root/a");
  ASSERT_GE(fd, 0);
  auto pid_file = tmp_.path() + "/orphan.pid";
  // It leaves a descendant in a session of its own, then exits.
  auto orphan = std::make_shared<std::atomic<int>>(0);
  auto exit = start(
    opts({"--orphan", pid_file, "600000", "--sleep", "200", "--exit", "3"}, fd),
    [orphan] { return alive(orphan->load()); });
  ASSERT_TRUE(wait_until([&] { return !slurp(pid_file).empty(); }));
  orphan->store(std::stoi(slurp(pid_file)));
  pids_.push_back(orphan->load());
  EXPECT_NE(slurp("/proc/" + std::to_string(orphan->load()) + "/cgroup")
              .find("/root/a"),
            std::string::npos);
  ASSERT_EQ(exit.wait_for(grace::test::patience(10s)),
            std::future_status::ready);
  auto [status, orphan_alive] = exit.get();
  EXPECT_EQ(status.how, exit_status::kind::exited);
  EXPECT_EQ(status.code, 3);
  EXPECT_FALSE(orphan_alive)
    << "reported while pid " << orphan->load() << " lived";
}

TEST_F(Containment, ACgroupOnceKilledTakesTheNextStart) {
  auto fd = cg_->component("root/a");
  ASSERT_GE(fd, 0);
  auto first = start(opts({"--sleep", "600000"}, fd));
  ASSERT_GT(last_pid_, 1);
  kill_component(last_pid_, fd);
  ASSERT_EQ(first.wait_for(grace::test::patience(10s)),
            std::future_status::ready);
  EXPECT_EQ(first.get().first.signal, SIGKILL);
  // The same descriptor: the restart path makes nothing.
  auto second = start(opts({"--exit", "7"}, fd));
  ASSERT_GT(last_pid_, 1);
  ASSERT_EQ(second.wait_for(grace::test::patience(10s)),
            std::future_status::ready);
  auto status = second.get().first;
  EXPECT_EQ(status.how, exit_status::kind::exited) << to_string(status);
  EXPECT_EQ(status.code, 7);
}

TEST_F(Containment, WhatAnEarlierGraceLeftIsFoundAndKilled) {
  auto fd = cg_->component("root/db");
  ASSERT_GE(fd, 0);
  auto r = spawn(opts({"--sleep", "600000"}, fd));
  auto* c = std::get_if<child_process>(&r);
  ASSERT_NE(c, nullptr);
  pids_.push_back(c->pid);
  // Seen by another grace on the same log_dir.
  std::string why;
  auto later = containment::open(tmp_.path() + "/logs", &why);
  ASSERT_TRUE(later) << why;
  auto left = later->leftovers();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left.begin()->first, "root/db");
  EXPECT_EQ(left.begin()->second, std::vector<int>{c->pid});
  EXPECT_TRUE(cgroup_kill_and_wait(later->component_dir("root/db"), 10s));
  EXPECT_TRUE(later->leftovers().empty());
  EXPECT_FALSE(alive(c->pid));
  int status = 0;
  ::waitpid(c->pid, &status, 0);
}

} // namespace
