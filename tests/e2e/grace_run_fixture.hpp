// The fixture of the `grace run` end-to-end tests: a temporary directory,
// a config of the tests' helper child, the real executable started in the
// background, and what it said.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "runtime/cgroup.hpp"
#include "tests/support/background.hpp"
#include "tests/support/proc.hpp"
#include "tests/support/run_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/unix_socket.hpp"
#include "tests/support/wait_until.hpp"

namespace grace::test {

inline const std::string grace_bin = GRACE_BINARY;
inline const std::string crashy = GRACE_CRASHY_CHILD;

class GraceRun : public ::testing::Test {
protected:
  ~GraceRun() override {
    for (auto pid : pids())
      grace::test::kill_if_alive(pid);
    // The cgroups a killed grace (and its guardian) could not remove.
    if (auto dir = announced_cgroup(); !dir.empty())
      cgroups_.push_back(dir);
    for (auto& dir : cgroups_)
      wait_until([&] { return grace::runtime::remove_cgroup_tree(dir); },
                 std::chrono::seconds{5});
  }

  // Waits until grace has said how it contains its components; returns
  // its instance cgroup, or "" where it keeps to process groups.
  std::string instance_cgroup() {
    const std::string key = "containment: ";
    EXPECT_TRUE(
      wait_until([&] { return err().find(key) != std::string::npos; }))
      << err();
    auto dir = announced_cgroup();
    if (!dir.empty()
        && std::find(cgroups_.begin(), cgroups_.end(), dir) == cgroups_.end())
      cgroups_.push_back(dir);
    return dir;
  }

  // The instance cgroup grace's log names, or "".
  std::string announced_cgroup() const {
    auto log = err();
    const std::string under = "a cgroup per component under ";
    auto at = log.find(under);
    if (at == std::string::npos)
      return {};
    at += under.size();
    return log.substr(at, log.find('\n', at) - at);
  }

  // The pid in the first line of `file` once it is there.
  int pid_in(const std::string& file) {
    EXPECT_TRUE(wait_until([&] { return !slurp(file).empty(); })) << err();
    auto text = slurp(file);
    return text.empty() ? -1 : std::stoi(text);
  }

  std::string write_config(const std::string& children,
                           const std::string& sup = "") {
    return tmp_.write("grace.yaml", "grace: 1\nlog_dir: logs\n"
                                    "defaults: {backoff: {min: 0s}}\n"
                                    "supervisor:\n"
                                      + sup + "  children:\n" + children);
  }

  std::string child(const std::string& name, const std::string& extra = "") {
    return "    - {name: " + name + ", command: [" + crashy + ", --stamp, "
           + dir_ + "/" + name + ".stamp" + (extra.empty() ? "" : ", " + extra)
           + "]}\n";
  }

  // Child `a` that writes DIR/a.pid at its start, is ready once the file is
  // there and is probed on it (exec, every 20 ms): removing the file makes
  // it sick until a restart writes it again.
  std::string child_probed_by_pid_file() const {
    auto pid_file = dir_ + "/a.pid";
    return "    - name: a\n      command: [" + crashy + ", --stamp, " + dir_
           + "/a.stamp, --pid-file, " + pid_file
           + "]\n      ready: {exec: [test, -s, " + pid_file
           + "], within: 60s}\n      probes:\n"
             "        - {kind: exec, command: [test, -s, "
           + pid_file + "], every: 20ms}\n";
  }

  std::vector<int> pids() const {
    std::vector<int> result;
    for (auto& e : std::filesystem::directory_iterator{dir_}) {
      if (e.path().extension() != ".stamp" && e.path().extension() != ".pid")
        continue;
      std::ifstream in{e.path()};
      int pid = 0;
      long long ns = 0;
      if (e.path().extension() == ".pid") {
        while (in >> pid)
          result.push_back(pid);
      } else {
        while (in >> pid >> ns)
          result.push_back(pid);
      }
    }
    return result;
  }

  int first_pid(const std::string& stamp) const {
    std::ifstream in{dir_ + "/" + stamp};
    int pid = -1;
    in >> pid;
    return pid;
  }

  std::unique_ptr<background> run(const std::string& config,
                                  std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{grace_bin, "run", config};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return std::make_unique<background>(argv, dir_ + "/out", dir_ + "/err");
  }

  std::string err() const { return slurp(dir_ + "/err"); }

  grace::test::temp_dir tmp_{"grace-run"};
  std::string dir_ = tmp_.path();
  std::vector<std::string> cgroups_;
};

// GRACE_CGROUPS set for the graces started while it lives.
class scoped_env {
public:
  scoped_env(const char* name, const char* value) : name_(name) {
    ::setenv(name, value, 1);
  }
  ~scoped_env() { ::unsetenv(name_); }
  scoped_env(const scoped_env&) = delete;
  scoped_env& operator=(const scoped_env&) = delete;

private:
  const char* name_;
};

// GET http://127.0.0.1:`port``target` (HTTP/1.0); the whole answer, or "".
inline std::string http_get(int port, const std::string& target) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    auto req = "GET " + target + " HTTP/1.0\r\n\r\n";
    if (::write(fd, req.data(), req.size())
        == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
        out.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return out;
}

// `grace VERB [ARGS...] --control <dir>/logs/grace.sock`.
inline process_result ctl(const std::string& dir,
                          std::vector<std::string> args) {
  std::vector<std::string> argv{grace_bin};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--control");
  argv.push_back(dir + "/logs/grace.sock");
  return run_process(argv);
}

} // namespace grace::test
