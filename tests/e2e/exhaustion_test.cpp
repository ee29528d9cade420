// grace when what it runs on runs out (SPEC.md section 13): its own
// descriptors, the processes a user may have, the disk under log_dir, a
// child writing faster than its log takes it. Each time it says so in one
// clear line, records an incident for the component it concerns, keeps
// supervising, and loses nothing it recorded.
#include <atomic>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "runtime/proc_stat.hpp"
#include "runtime/unique_fd.hpp"
#include "tests/e2e/grace_run_fixture.hpp"

namespace grace::test {
namespace {

using namespace std::chrono_literals;

// Every line of the audit log `log` reads, and every incident in it has
// its open line first and one closing line after it.
void expect_every_incident_closed(const std::string& log) {
  std::map<std::string, std::vector<std::string>> statuses;
  for (auto& line : lines_of(log)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    statuses[j.value("incident_id", "")].push_back(j.value("status", ""));
  }
  EXPECT_FALSE(statuses.empty());
  for (auto& [id, seen] : statuses) {
    ASSERT_EQ(seen.size(), 2u) << id;
    EXPECT_EQ(seen.front(), "open") << id;
    EXPECT_NE(seen.back(), "open") << id;
  }
}

// A tree of `c` (restarted 20-100 ms after each exit, intensity 1000 a
// second) and f, which writes its output as fast as it can.
std::string crasher_and_flooder(const std::string& c) {
  return "grace: 1\nlog_dir: logs\n"
         "defaults: {backoff: {min: 20ms, max: 100ms}}\n"
         "supervisor:\n  intensity: 1000\n  period: 1s\n  children:\n"
         + c + "    - {name: f, command: [" + crashy + ", --flood]}\n";
}

// CPU seconds (user + system) `pid` has used so far.
double cpu_seconds(int pid) {
  auto ticks
    = runtime::parse_stat_cpu(slurp("/proc/" + std::to_string(pid) + "/stat"));
  return static_cast<double>(ticks.value_or(0))
         / static_cast<double>(runtime::clock_ticks_per_second());
}

TEST_F(GraceRun, OutOfDescriptorsItSaysSoAndRestartsOnceItHasThemAgain) {
#if defined(__SANITIZE_ADDRESS__)
  // UBSan's vptr check opens a pipe to see whether it may read an object;
  // with no descriptor left it takes every object for a bad one.
  GTEST_SKIP() << "the sanitizers need descriptors of their own";
#endif
  ASSERT_GE(raise_open_files(4096), 1200u)
    << "this host allows too few descriptors";
  // A child that crashes 50 ms after each start, restarted after its
  // backoff (20 ms, then 100 ms: about 7 restarts a second, within the
  // intensity of 8). grace may hold 128 descriptors.
  auto config = tmp_.write("grace.yaml",
                           "grace: 1\nlog_dir: logs\n"
                           "defaults: {backoff: {min: 20ms, max: 100ms}}\n"
                           "supervisor:\n  intensity: 8\n  period: 1s\n"
                           "  children:\n"
                             + child("c", "--sleep, \"50\", --exit, \"1\""));
  constexpr int limit = 128;
  background g(
    {"/usr/bin/prlimit", "--nofile=128:128", "--", grace_bin, "run", config},
    dir_ + "/out", dir_ + "/err");
  ASSERT_TRUE(wait_until([&] { return first_pid("c.stamp") > 1; })) << err();
  auto sock = dir_ + "/logs/grace.sock";
  // Connections that never write, until grace holds all it may.
  std::vector<int> silent;
  for (int i = 0; i < 2 * limit; ++i) {
    auto fd = dial(sock);
    ASSERT_GE(fd, 0) << "connection " << i;
    silent.push_back(fd);
  }
  ASSERT_TRUE(wait_until(
    [&] { return err().find("Too many open files") != std::string::npos; }))
    << "grace held " << open_fds(g.pid()) << " descriptors\n"
    << err();
  // It says what it is short of, and does not spin.
  ASSERT_TRUE(wait_until([&] {
    return err().find("grace is short of descriptors (its limit: 128)")
           != std::string::npos;
  }))
    << err();
  auto cpu_before = cpu_seconds(g.pid());
  auto stamps_before = lines_of(dir_ + "/c.stamp").size();
  std::this_thread::sleep_for(1s); // a span to measure, not a synchronisation
  auto cpu_used = cpu_seconds(g.pid()) - cpu_before;
  EXPECT_LT(cpu_used, 0.5) << "grace spins while out of descriptors";
  std::printf("out of descriptors: grace holds %ld of %d, used %.2f s of CPU "
              "in 1 s, c started %zu times in it\n",
              open_fds(g.pid()), limit, cpu_used,
              lines_of(dir_ + "/c.stamp").size() - stamps_before);
  // Once, not at every connection it cannot take.
  EXPECT_LE(occurrences(err(), "control socket: cannot accept"), 2u) << err();
  // The operator still gets in.
  auto status = ctl(dir_, {"status"});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  // Descriptors back: c runs again, and grace goes on supervising it.
  for (auto fd : silent)
    ::close(fd);
  auto stamps = lines_of(dir_ + "/c.stamp").size();
  EXPECT_TRUE(wait_until(
    [&] { return lines_of(dir_ + "/c.stamp").size() >= stamps + 3; }))
    << err();
  g.signal(SIGTERM);
  EXPECT_EQ(g.wait(patience(20s)), 0) << err();
  // The failed restarts are on record in the incident they healed.
  auto log = dir_ + "/logs/incidents.jsonl";
  EXPECT_NE(slurp(log).find("grace is short of descriptors"),
            std::string::npos);
  expect_every_incident_closed(log);
}

// How many processes run as `uid`.
int processes_of(uid_t uid) {
  int n = 0;
  for (auto& e : std::filesystem::directory_iterator{"/proc"}) {
    auto name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    for (auto& line : lines_of(e.path() / "status"))
      if (line.starts_with("Uid:"))
        n += std::stoul(line.substr(4)) == uid;
  }
  return n;
}

TEST_F(GraceRun, OutOfProcessesOfAUserItRetriesUntilOneIsFree) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "switching users needs root";
  // A user no other test runs anything as (their processes come and go:
  // the count must hold still), which may have one process more than it
  // has now: a and b start, c cannot (execve fails with EAGAIN past
  // RLIMIT_NPROC).
  const passwd* user = nullptr;
  for (auto name : {"sys", "bin", "daemon"})
    if ((user = ::getpwnam(name)))
      break;
  ASSERT_NE(user, nullptr) << "no user sys, bin or daemon";
  std::string name = user->pw_name;
  auto limit = std::to_string(processes_of(user->pw_uid) + 1);
  std::string children;
  for (auto child_name : {"a", "b", "c"})
    children += std::string{"    - {name: "} + child_name + ", user: " + name
                + ", cwd: /, command: [/bin/sleep, \"3600\"]}\n";
  auto config
    = tmp_.write("grace.yaml", "grace: 1\nlog_dir: logs\n"
                               "defaults: {backoff: {min: 20ms, max: 100ms}}\n"
                               "supervisor:\n  intensity: 8\n  period: 1s\n"
                               "  children:\n"
                                 + children);
  background g({"/usr/bin/prlimit", "--nproc=" + limit + ":" + limit, "--",
                grace_bin, "run", config},
               dir_ + "/out", dir_ + "/err");
  auto pid_of = [&](const std::string& path) {
    auto log = err();
    auto key = path + ": started (pid ";
    auto at = log.find(key);
    return at == std::string::npos ? 0
                                   : std::atoi(log.c_str() + at + key.size());
  };
  ASSERT_TRUE(wait_until([&] { return pid_of("root/b") > 1; })) << err();
  auto a = pid_of("root/a");
  // c waits for a process to be free, said once; a restart every backoff.
  ASSERT_TRUE(wait_until([&] {
    return occurrences(err(), "restarting root/c") == 0
           && err().find("root/c: cannot execute '/bin/sleep': Resource "
                         "temporarily unavailable (grace is short of "
                         "processes")
                != std::string::npos;
  }))
    << err();
  // Far beyond the intensity (8 a second), it goes on trying, quietly.
  auto restarts_of_c = [&] {
    auto status = nlohmann::json::parse(ctl(dir_, {"status", "--json"}).out,
                                        nullptr, false);
    if (status.is_discarded())
      return -1;
    for (auto& row : status["components"])
      if (row["path"] == "root/c")
        return row["restarts"].get<int>();
    return -1;
  };
  ASSERT_TRUE(wait_until([&] { return restarts_of_c() >= 20; }))
    << restarts_of_c() << "\n"
    << err();
  EXPECT_EQ(occurrences(err(), "root/c: cannot execute"), 1u) << err();
  EXPECT_EQ(occurrences(err(), "restarting root/c"), 0u) << err();
  // One of the user's processes stopped: c starts, and its incident resolves.
  ASSERT_EQ(ctl(dir_, {"stop", "root/a"}).exit_code, 0);
  ASSERT_TRUE(wait_until([&] { return !alive(a); }));
  ASSERT_TRUE(wait_until([&] { return pid_of("root/c") > 1; })) << err();
  EXPECT_NE(err().find("root/c: started (pid "
                       + std::to_string(pid_of("root/c")) + ") after "),
            std::string::npos)
    << err();
  g.signal(SIGTERM);
  EXPECT_EQ(g.wait(patience(20s)), 0) << err();
  auto log = dir_ + "/logs/incidents.jsonl";
  EXPECT_NE(slurp(log).find("\"component\":\"root/c\",\"failure_mode\":"
                            "\"spawn_failed\""),
            std::string::npos)
    << slurp(log);
  expect_every_incident_closed(log);
}

// A tmpfs of `bytes` on `dir`, in a mount namespace of this thread's own
// (grace, started from it, shares it); unmounted at the end.
class small_disk {
public:
  small_disk(std::string dir, std::size_t bytes) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
    auto size = "size=" + std::to_string(bytes);
    if (::unshare(CLONE_NEWNS) != 0)
      why_not_ = std::string{"unshare: "} + std::strerror(errno);
    else if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
      why_not_
        = std::string{"mount --make-rprivate /: "} + std::strerror(errno);
    else if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, size.c_str()) != 0)
      why_not_ = std::string{"mount tmpfs: "} + std::strerror(errno);
  }
  ~small_disk() {
    if (why_not_.empty())
      ::umount2(dir_.c_str(), MNT_DETACH);
  }
  small_disk(const small_disk&) = delete;
  small_disk& operator=(const small_disk&) = delete;

  // Why there is none ("" once mounted).
  const std::string& why_not() const { return why_not_; }

private:
  std::string dir_;
  std::string why_not_;
};

TEST_F(GraceRun, ADiskFilledByAChildLosesNoIncidentAndStopsNoRestart) {
  // log_dir on a 4 MiB disk; f writes its output faster than that fills
  // it, c crashes 50 ms after each start (restarted after its backoff).
  small_disk disk{dir_ + "/logs", 4 << 20};
  if (!disk.why_not().empty())
    GTEST_SKIP() << "no disk of its own: " << disk.why_not();
  auto config = tmp_.write(
    "grace.yaml",
    crasher_and_flooder(child("c", "--sleep, \"50\", --exit, \"1\"")));
  auto g = run(config);
  auto log = dir_ + "/logs/incidents.jsonl";
  // The disk fills; grace says so, once for each file.
  ASSERT_TRUE(wait_until([&] {
    return err().find("audit log " + log
                      + ": cannot write to it: No space left on device")
             != std::string::npos
           && err().find("cannot write " + dir_
                         + "/logs/root.f.out: No space left on device")
                != std::string::npos;
  }))
    << err();
  // It goes on restarting c, and reading f; what it records waits.
  auto starts = lines_of(dir_ + "/c.stamp").size();
  auto held_at = slurp(log).size();
  ASSERT_TRUE(wait_until(
    [&] { return lines_of(dir_ + "/c.stamp").size() >= starts + 10; }))
    << err();
  EXPECT_EQ(slurp(log).size(), held_at) << "written on a full disk?";
  EXPECT_EQ(occurrences(err(), "root.f.out: No space left on device"), 1u)
    << err();
  EXPECT_EQ(ctl(dir_, {"status"}).exit_code, 0);
  std::printf("a full disk: %zu bytes of the audit log written before\n",
              held_at);
  // Space again: f stopped and its output emptied. Every record grace
  // held is written, and nothing is torn.
  ASSERT_EQ(ctl(dir_, {"stop", "root/f"}).exit_code, 0);
  for (auto& e : std::filesystem::directory_iterator{dir_ + "/logs"})
    if (e.path().filename().string().starts_with("root.f.out"))
      std::filesystem::resize_file(e.path(), 0);
  ASSERT_TRUE(wait_until([&] {
    return err().find("audit log " + log + " is writable again")
           != std::string::npos;
  }))
    << err();
  ASSERT_EQ(ctl(dir_, {"stop", "root/c"}).exit_code, 0);
  // One incident per crash of c: each start but the last ended in one
  // (or each, if the stop came while a restart was due).
  starts = lines_of(dir_ + "/c.stamp").size();
  auto incidents_of_c = [&] {
    std::set<std::string> ids;
    for (auto& line : lines_of(log)) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_discarded() && j.value("component", "") == "root/c"
          && j.value("status", "") != "open")
        ids.insert(j.value("incident_id", ""));
    }
    return ids.size();
  };
  ASSERT_TRUE(wait_until([&] { return incidents_of_c() + 1 >= starts; }))
    << incidents_of_c() << " incidents closed, " << starts << " starts";
  EXPECT_LE(incidents_of_c(), starts);
  std::printf("a full disk: c started %zu times, %zu incidents on record\n",
              starts, incidents_of_c());
  g->signal(SIGTERM);
  EXPECT_EQ(g->wait(patience(20s)), 0) << err();
  expect_every_incident_closed(log);
}

TEST_F(GraceRun, ADiskSlowerThanAChildHoldsUpThatChildAlone) {
  // f floods its stdout into a file that takes nothing until the test reads
  // it (a FIFO: a disk stuck, then taking what comes); c crashes 50 ms after
  // each start. A write that waits on the disk waits on grace's disk
  // thread: c goes on being restarted, grace answers, and what it holds of
  // f's output stays bounded (the rest waits in f's pipe, and f with it).
  std::filesystem::create_directories(dir_ + "/logs");
  auto fifo = dir_ + "/logs/root.f.out";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
  runtime::unique_fd disk{
    ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC)};
  ASSERT_TRUE(disk) << std::strerror(errno);
  auto config = tmp_.write(
    "grace.yaml",
    crasher_and_flooder(child("c", "--sleep, \"50\", --exit, \"1\"")));
  auto g = run(config);
  ASSERT_TRUE(wait_until([&] {
    return err().find("root.f.out: the disk takes this output slower than "
                      "the child writes it")
           != std::string::npos;
  }))
    << err();
  auto rss_stalled = rss_kib(g->pid());
  auto starts = lines_of(dir_ + "/c.stamp").size();
  ASSERT_TRUE(wait_until(
    [&] { return lines_of(dir_ + "/c.stamp").size() >= starts + 10; }))
    << "c is not restarted while f's output waits; log:" << err();
  EXPECT_EQ(ctl(dir_, {"status"}).exit_code, 0);
  auto grown = rss_kib(g->pid()) - rss_stalled;
  EXPECT_LT(grown, 64 * 1024) << "KiB more while f's output waits";
  EXPECT_EQ(occurrences(err(), "the disk takes this output slower"), 1u)
    << err();
  std::printf("a stuck disk: c started %zu times more, grace grew by %ld "
              "KiB\n",
              lines_of(dir_ + "/c.stamp").size() - starts, grown);
  // The disk takes it again (the test reads all that comes, until grace
  // has stopped): grace reads f again and says so.
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> taken{0};
  std::thread reader{[&] {
    std::vector<char> buf(1 << 16);
    while (!done) {
      pollfd p{disk.get(), POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0)
        continue;
      auto n = ::read(disk.get(), buf.data(), buf.size());
      if (n > 0)
        taken += static_cast<std::uint64_t>(n);
    }
  }};
  EXPECT_TRUE(wait_until([&] {
    return err().find("root.f.out: the disk has caught up after")
           != std::string::npos;
  }))
    << err();
  EXPECT_EQ(ctl(dir_, {"stop", "root/f"}).exit_code, 0);
  g->signal(SIGTERM);
  EXPECT_EQ(g->wait(patience(20s)), 0) << err();
  done = true;
  reader.join();
  EXPECT_GT(taken.load(), 0u);
}

} // namespace
} // namespace grace::test
