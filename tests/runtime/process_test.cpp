#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "runtime/io_loop.hpp"
#include "runtime/process.hpp"
#include "tests/support/proc.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/wait_until.hpp"

using namespace grace::runtime;
using namespace std::chrono_literals;
using grace::test::alive;
using grace::test::slurp;
using grace::test::wait_until;
namespace fs = std::filesystem;

namespace {

const std::string crashy = GRACE_CRASHY_CHILD;

class Process : public ::testing::Test {
protected:
  ~Process() override {
    for (auto pid : pids_)
      grace::test::kill_if_alive(pid);
    loop_.stop();
  }

  std::string path(const std::string& name) const {
    return (fs::path{dir_} / name).string();
  }

  spawn_options opts(std::vector<std::string> args) {
    spawn_options o;
    o.argv = {crashy};
    o.argv.insert(o.argv.end(), args.begin(), args.end());
    o.env = {"PATH=/usr/bin:/bin"};
    return o;
  }

  /// Spawns on the I/O thread and waits for the exit status.
  exit_status run(spawn_options o) {
    std::promise<exit_status> done;
    auto result = std::make_shared<spawn_result>();
    std::promise<void> spawned;
    loop_.post([&, result] {
      *result = spawn(o);
      if (auto* c = std::get_if<child_process>(result.get())) {
        pids_.push_back(c->pid);
        watch_exit(loop_, c->pid, std::move(c->pidfd),
                   [&](int, exit_status s) { done.set_value(s); });
      }
      spawned.set_value();
    });
    spawned.get_future().wait();
    if (auto* f = std::get_if<spawn_failure>(result.get()))
      throw std::runtime_error(f->message);
    auto fut = done.get_future();
    if (fut.wait_for(grace::test::patience(10s)) != std::future_status::ready)
      throw std::runtime_error("child did not exit");
    return fut.get();
  }

  spawn_failure fail(spawn_options o) {
    auto r = spawn(o);
    if (auto* c = std::get_if<child_process>(&r)) {
      pids_.push_back(c->pid);
      ADD_FAILURE() << "spawned pid " << c->pid;
      return {};
    }
    return std::get<spawn_failure>(r);
  }

  /// Output file for a child's stdout.
  int out_fd(const std::string& name) {
    auto fd = ::open(path(name).c_str(),
                     O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    fds_.emplace_back(fd);
    return fd;
  }

  grace::test::temp_dir tmp_{"grace-proc"};
  std::string dir_ = tmp_.path();
  io_loop loop_;
  std::vector<int> pids_;
  std::vector<unique_fd> fds_;
};

} // namespace

TEST_F(Process, EveryExitCodeIsReportedExactly) {
  for (int code = 0; code < 256; ++code) {
    auto s = run(opts({"--exit", std::to_string(code)}));
    ASSERT_EQ(s.how, exit_status::kind::exited) << code;
    ASSERT_EQ(s.code, code);
    EXPECT_EQ(s.shell_code(), code);
  }
}

TEST_F(Process, DeathBySignalIsReportedAsSuch) {
  auto o = opts({"--signal", "9"});
  auto s = run(o);
  EXPECT_EQ(s.how, exit_status::kind::signaled);
  EXPECT_EQ(s.signal, SIGKILL);
  EXPECT_EQ(s.shell_code(), 137);
  EXPECT_EQ(to_string(s), "killed by SIGKILL");
  o = opts({"--signal", "11"});
  o.limits = {{RLIMIT_CORE, 0, false}};
  s = run(o);
  EXPECT_EQ(to_string(s), "killed by SIGSEGV");
  EXPECT_EQ(to_string(run(opts({"--exit", "3"}))), "exited with code 3");
}

TEST_F(Process, MissingBinaryIsASpawnFailure) {
  spawn_options o;
  o.argv = {"/nonexistent/bin/x"};
  auto f = fail(o);
  EXPECT_EQ(f.error, ENOENT);
  EXPECT_EQ(f.message,
            "cannot execute '/nonexistent/bin/x': No such file or directory");
  o.argv = {"no-such-program-anywhere"};
  f = fail(o);
  EXPECT_EQ(f.message,
            "cannot execute 'no-such-program-anywhere': not found in PATH");
  EXPECT_FALSE(f.sandbox);
}

TEST_F(Process, NotExecutableIsASpawnFailure) {
  auto file = path("script");
  { std::ofstream{file} << "#!/bin/sh\n"; }
  spawn_options o;
  o.argv = {file};
  auto f = fail(o);
  EXPECT_EQ(f.error, EACCES);
  EXPECT_EQ(f.message, "cannot execute '" + file + "': Permission denied");
}

TEST_F(Process, BadWorkingDirectoryIsASpawnFailure) {
  auto o = opts({"--exit", "0"});
  o.cwd = "/nonexistent/dir";
  auto f = fail(o);
  EXPECT_EQ(f.error, ENOENT);
  EXPECT_EQ(f.message, "cannot change directory '/nonexistent/dir': No such "
                       "file or directory");
  EXPECT_TRUE(f.sandbox); // its confinement, not its program
}

TEST_F(Process, UnknownUserIsASpawnFailure) {
  auto o = opts({"--exit", "0"});
  o.user = "no-such-user-here";
  auto f = fail(o);
  EXPECT_EQ(f.message, "unknown user 'no-such-user-here'");
  EXPECT_TRUE(f.sandbox);
}

TEST_F(Process, AUserChildGetsThatUsersEnvironmentUnlessItIsSet) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "switching users needs root";
  auto* pw = ::getpwnam("nobody");
  ASSERT_NE(pw, nullptr);
  std::string home = pw->pw_dir;
  std::string shell = pw->pw_shell;
  // env(1), not the helper: the build tree may be closed to nobody.
  spawn_options o;
  o.argv = {"/usr/bin/env"};
  o.env = {"PATH=/usr/bin:/bin"};
  o.user = "nobody";
  o.cwd = "/";
  o.stdout_fd = out_fd("out");
  ASSERT_TRUE(run(o).clean());
  EXPECT_EQ(slurp(path("out")),
            "PATH=/usr/bin:/bin\nHOME=" + home
              + "\nUSER=nobody\nLOGNAME=nobody\nSHELL=" + shell + "\n");
  // What the config sets stays.
  o.env.push_back("HOME=/srv/app");
  o.stdout_fd = out_fd("out2");
  ASSERT_TRUE(run(o).clean());
  EXPECT_EQ(slurp(path("out2")),
            "PATH=/usr/bin:/bin\nHOME=/srv/app\nUSER=nobody\nLOGNAME=nobody"
            "\nSHELL="
              + shell + "\n");
}

TEST_F(Process, EnvironmentCwdAndLimitsReachTheChild) {
  auto o = opts(
    {"--env", "GREETING", "--env", "HOME", "--cwd", "--nofile", "--exit", "0"});
  o.env.push_back("GREETING=hello there");
  o.cwd = dir_;
  o.limits = {{RLIMIT_NOFILE, 123, false}};
  o.stdout_fd = out_fd("out");
  EXPECT_TRUE(run(o).clean());
  EXPECT_EQ(slurp(path("out")), "GREETING=hello there\nHOME=(unset)\n"
                                  + fs::canonical(dir_).string()
                                  + "\nnofile=123\n");
}

TEST_F(Process, ChildLeadsItsOwnProcessGroup) {
  auto o = opts({"--pgid", "--exit", "0"});
  o.stdout_fd = out_fd("out");
  ASSERT_TRUE(run(o).clean());
  auto text = slurp(path("out"));
  int pgid = 0;
  int pid = 0;
  ASSERT_EQ(std::sscanf(text.c_str(), "pgid=%d pid=%d", &pgid, &pid), 2);
  EXPECT_EQ(pgid, pid);
}

TEST_F(Process, SignallingTheGroupReachesGrandchildren) {
  auto grandchild_file = path("grandchild");
  auto o = opts({"--grandchild", grandchild_file});
  auto r = spawn(o);
  ASSERT_TRUE(std::holds_alternative<child_process>(r));
  auto& child = std::get<child_process>(r);
  pids_.push_back(child.pid);
  ASSERT_TRUE(wait_until([&] { return !slurp(grandchild_file).empty(); }));
  auto grandchild = std::stoi(slurp(grandchild_file));
  pids_.push_back(grandchild);
  EXPECT_TRUE(alive(grandchild));
  EXPECT_TRUE(signal_group(child.pid, SIGKILL));
  EXPECT_TRUE(wait_until([&] { return !alive(grandchild); }));
  siginfo_t info{};
  ::waitid(P_PIDFD, static_cast<id_t>(child.pidfd.get()), &info, WEXITED);
  EXPECT_EQ(info.si_status, SIGKILL);
}

TEST_F(Process, ChildDiesWithTheThreadThatStartedIt) {
  // PR_SET_PDEATHSIG fires when the spawning thread ends; grace spawns from
  // its I/O thread, which lives as long as grace.
  int pid = -1;
  std::thread t{[&] {
    auto r = spawn(opts({}));
    if (auto* c = std::get_if<child_process>(&r))
      pid = c->pid;
  }};
  t.join();
  ASSERT_GT(pid, 0);
  pids_.push_back(pid);
  EXPECT_TRUE(wait_until([&] { return !alive(pid); }));
}

TEST_F(Process, SignalGroupOfAGoneGroupFails) {
  EXPECT_FALSE(signal_group(0, SIGTERM));
  EXPECT_FALSE(signal_group(999'999'999, SIGTERM));
}

TEST_F(Process, ChildGetsCleanSignalDispositionsAndMask) {
  // grace ignores SIGPIPE and blocks SIGTERM (read through a signalfd);
  // neither may leak into a child.
  auto old_pipe = ::signal(SIGPIPE, SIG_IGN);
  sigset_t term, old_mask;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &term, &old_mask);
  auto o = opts({"--signals", "--exit", "0"});
  o.stdout_fd = out_fd("out");
  auto r = spawn(o);
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ::signal(SIGPIPE, old_pipe);
  ASSERT_TRUE(std::holds_alternative<child_process>(r));
  auto& c = std::get<child_process>(r);
  pids_.push_back(c.pid);
  siginfo_t info{};
  ::waitid(P_PIDFD, static_cast<id_t>(c.pidfd.get()), &info, WEXITED);
  EXPECT_EQ(slurp(path("out")), "pipe=dfl term_blocked=0\n");
}

TEST_F(Process, ChildGetsOnlyItsStdio) {
  // What grace holds open, with O_CLOEXEC or without (libraries forget it),
  // stays out of a child.
  int leaky = ::open("/dev/null", O_RDONLY);
  std::vector<int> held;
  for (int i = 0; i < 64; ++i)
    held.push_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  auto o = opts({"--fds", "--exit", "0"});
  o.stdout_fd = out_fd("out");
  auto status = run(o);
  ::close(leaky);
  for (auto fd : held)
    ::close(fd);
  EXPECT_TRUE(status.clean());
  EXPECT_EQ(slurp(path("out")), "fds=0,1,2\n");
}

TEST_F(Process, KeepsNoCopyOfAChildsOutputPipe) {
  // Once the child has gone, its output pipe reads to the end: grace holds
  // no copy of the child's end.
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  auto o = opts({"--print", "hello", "--exit", "0"});
  o.stdout_fd = p[1];
  auto status = run(o);
  ::close(p[1]);
  std::string got;
  for (;;) {
    pollfd pfd{p[0], POLLIN, 0};
    ASSERT_GT(::poll(&pfd, 1, 5000), 0) << "no end of file after 5 s";
    char buf[256];
    auto n = ::read(p[0], buf, sizeof buf);
    if (n <= 0)
      break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  ::close(p[0]);
  EXPECT_TRUE(status.clean());
  EXPECT_EQ(got, "hello\n");
}

TEST_F(Process, RunsAsTheConfiguredUser) {
  // As root: the child runs as `nobody`. Otherwise switching users is not
  // allowed, and that is a clear spawn failure.
  auto o = opts({"--env", "HOME", "--exit", "0"});
  o.user = "nobody";
  o.stdout_fd = out_fd("out");
  auto r = spawn(o);
  if (::geteuid() != 0) {
    ASSERT_TRUE(std::holds_alternative<spawn_failure>(r));
    EXPECT_EQ(std::get<spawn_failure>(r).error, EPERM);
    return;
  }
  ASSERT_TRUE(std::holds_alternative<child_process>(r));
  auto& c = std::get<child_process>(r);
  pids_.push_back(c.pid);
  std::ifstream status{"/proc/" + std::to_string(c.pid) + "/status"};
  std::string line;
  std::string uid_line;
  while (std::getline(status, line))
    if (line.starts_with("Uid:"))
      uid_line = line;
  siginfo_t info{};
  ::waitid(P_PIDFD, static_cast<id_t>(c.pidfd.get()), &info, WEXITED);
  EXPECT_EQ(info.si_status, 0);
  if (!uid_line.empty()) { // read before it exited
    EXPECT_NE(uid_line.find("65534"), std::string::npos) << uid_line;
  }
}
