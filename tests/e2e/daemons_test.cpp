// Daemons nobody here wrote, from Debian, under `grace run` (SPEC.md
// section 3): redis (ready by sd_notify), nginx (a master and its workers,
// ready by tcp, an http probe) and PostgreSQL (user: postgres, SIGINT to
// stop, ready by pg_isready). Each is healed after a kill -9 of its main
// process; a kill -9 of grace leaves nothing of any of them; grace started
// again finds all three ready, with no failing port_in_use. The install
// script brings the three packages; without them (or without root, which
// postgres' user: needs) the test says so and is skipped.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>

#include <pwd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/background.hpp"
#include "tests/support/ports.hpp"
#include "tests/support/proc.hpp"
#include "tests/support/run_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/wait_until.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using grace::test::alive;
using grace::test::background;
using grace::test::lines_of;
using grace::test::slurp;
using grace::test::wait_until;

namespace {

const std::string grace_bin = GRACE_BINARY;
const std::vector<std::string> components{"redis", "nginx", "postgres"};

// The newest PostgreSQL's bin directory, or "".
std::string postgres_bin() {
  std::vector<std::string> found;
  std::error_code ec;
  for (auto& e : fs::directory_iterator{"/usr/lib/postgresql", ec})
    if (fs::exists(e.path() / "bin" / "postgres"))
      found.push_back((e.path() / "bin").string());
  std::sort(found.begin(), found.end());
  return found.empty() ? std::string{} : found.back();
}

class RealDaemons : public ::testing::Test {
protected:
  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "needs root (postgres runs as user postgres)";
    // What a killed grace leaves is re-parented here, not to a pid 1 that
    // may never reap it (a container's): postgres takes a zombie postmaster
    // for a live one and refuses to start.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    pg_ = postgres_bin();
    for (auto& [what, path] : std::map<std::string, std::string>{
           {"redis-server", "/usr/bin/redis-server"},
           {"nginx", "/usr/sbin/nginx"},
           {"postgres", pg_ + "/postgres"}})
      if (pg_.empty() || ::access(path.c_str(), X_OK) != 0)
        GTEST_SKIP() << what << " is not installed (.ci/install-deps brings "
                     << "redis-server, nginx-light and postgresql)";
    auto* pw = ::getpwnam("postgres");
    if (!pw)
      GTEST_SKIP() << "no user postgres";
    // postgres must reach its data directory.
    fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_exec
                            | fs::perms::others_exec);
    fs::create_directories(dir_ + "/pg");
    fs::create_directories(dir_ + "/redis");
    fs::create_directories(dir_ + "/nginx");
    ASSERT_EQ(::chown((dir_ + "/pg").c_str(), pw->pw_uid, pw->pw_gid), 0);
    auto init = grace::test::run_process(
      {"/usr/sbin/runuser", "-u", "postgres", "--", pg_ + "/initdb", "-D",
       dir_ + "/pg/data", "-A", "trust", "--no-sync"},
      120s);
    ASSERT_EQ(init.exit_code, 0) << init.out << init.err;
    redis_port_ = grace::test::free_port_text();
    nginx_port_ = grace::test::free_port_text();
    pg_port_ = grace::test::free_port_text();
    std::ofstream{dir_ + "/nginx/nginx.conf"}
      << "daemon off;\nmaster_process on;\nworker_processes 2;\n"
      << "pid " << dir_ << "/nginx/nginx.pid;\n"
      << "error_log " << dir_ << "/nginx/error.log;\n"
      << "events {}\nhttp {\n  access_log off;\n"
      << "  client_body_temp_path " << dir_ << "/nginx/body;\n"
      << "  proxy_temp_path " << dir_ << "/nginx/proxy;\n"
      << "  fastcgi_temp_path " << dir_ << "/nginx/fastcgi;\n"
      << "  uwsgi_temp_path " << dir_ << "/nginx/uwsgi;\n"
      << "  scgi_temp_path " << dir_ << "/nginx/scgi;\n"
      << "  server {\n    listen 127.0.0.1:" << nginx_port_ << ";\n"
      << "    location / { return 200 \"ok\\n\"; }\n  }\n}\n";
    config_ = tmp_.write(
      "grace.yaml",
      "grace: 1\nlog_dir: logs\ndefaults: {backoff: {min: 0s}}\n"
      "supervisor:\n  children:\n"
      "    - name: redis\n"
      "      command: [/usr/bin/redis-server, --port, \""
        + redis_port_
        + "\", --bind, 127.0.0.1, --save, \"\", --appendonly, \"no\", "
          "--supervised, systemd, --daemonize, \"no\", --dir, "
        + dir_ + "/redis]\n" + "      ports: [" + redis_port_ + "]\n"
        + "      ready: {notify: true, within: 60s}\n"
          "    - name: nginx\n"
          "      command: [/usr/sbin/nginx, -p, "
        + dir_ + "/nginx/, -c, " + dir_ + "/nginx/nginx.conf, -e, " + dir_
        + "/nginx/error.log]\n" + "      ports: [" + nginx_port_ + "]\n"
        + "      ready: {tcp: " + nginx_port_ + ", within: 60s}\n"
        + "      probes:\n        - {kind: http, url: \"http://127.0.0.1:"
        + nginx_port_ + "/\", every: 500ms, timeout: 30s}\n"
        + "    - name: postgres\n      user: postgres\n      cwd: " + dir_
        + "/pg\n"
          "      stop_signal: SIGINT\n"
          "      command: ["
        + pg_ + "/postgres, -D, " + dir_ + "/pg/data, -p, \"" + pg_port_
        + "\", -k, " + dir_ + "/pg, -c, listen_addresses=127.0.0.1]\n"
        + "      ports: [" + pg_port_ + "]\n" + "      ready: {exec: [" + pg_
        + "/pg_isready, -q, -h, 127.0.0.1, " + "-p, \"" + pg_port_
        + "\"], within: 60s}\n");
  }

  ~RealDaemons() override {
    g_.reset(); // SIGKILLed: its guardian takes the daemons down
    for (auto pid : seen_)
      grace::test::kill_if_alive(pid);
  }

  void run() {
    g_ = std::make_unique<background>(
      std::vector<std::string>{grace_bin, "run", config_}, dir_ + "/out",
      dir_ + "/err");
  }

  std::string err() const { return slurp(dir_ + "/err"); }

  // The end of each daemon's stderr, for a failure's message.
  std::string outputs() const {
    std::string out;
    for (auto& name : components) {
      auto text = slurp(dir_ + "/logs/root." + name + ".err");
      out += "\n--- " + name + " stderr:\n" + text.substr(0, 3000);
    }
    return out;
  }

  // Component -> (state, pid) from `grace status --json`.
  std::map<std::string, std::pair<std::string, int>> status() const {
    auto r = grace::test::run_process(
      {grace_bin, "status", "--json", "--control", dir_ + "/logs/grace.sock"});
    std::map<std::string, std::pair<std::string, int>> out;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    if (!j.is_object() || !j.contains("components"))
      return out;
    for (auto& c : j["components"])
      if (c.is_object() && c.contains("pid") && c["pid"].is_number())
        out[c.value("path", std::string{})]
          = {c.value("state", std::string{}), c["pid"].get<int>()};
    return out;
  }

  // Waits until all three run; returns their main pids.
  std::map<std::string, int> all_running() {
    std::map<std::string, int> pids;
    EXPECT_TRUE(wait_until(
      [&] {
        pids.clear();
        for (auto& [path, s] : status())
          if (s.first == "running")
            pids[path.substr(path.rfind('/') + 1)] = s.second;
        return pids.size() == components.size();
      },
      120s))
      << err() << outputs();
    for (auto& [name, pid] : pids)
      seen_.push_back(pid);
    return pids;
  }

  // Every process of the three: in their cgroups, or (process groups
  // only) in the process groups of their main processes `mains`.
  std::vector<int> everything(const std::map<std::string, int>& mains) {
    std::vector<int> pids;
    auto log = err();
    const std::string under = "a cgroup per component under ";
    auto at = log.find(under);
    if (at != std::string::npos) {
      at += under.size();
      auto dir = log.substr(at, log.find('\n', at) - at) + "/root/";
      for (auto& name : components)
        for (auto& line : lines_of(dir + name + "/cgroup.procs"))
          pids.push_back(std::stoi(line));
    } else {
      for (auto& e : fs::directory_iterator{"/proc"}) {
        auto name = e.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos)
          continue;
        auto pgid = ::getpgid(std::stoi(name));
        for (auto& [component, pid] : mains)
          if (pgid == pid)
            pids.push_back(std::stoi(name));
      }
    }
    seen_.insert(seen_.end(), pids.begin(), pids.end());
    return pids;
  }

  std::size_t count(const std::string& what) const {
    std::size_t n = 0;
    for (auto& line : lines_of(dir_ + "/logs/incidents.jsonl"))
      if (line.find(what) != std::string::npos)
        ++n;
    return n;
  }

  grace::test::temp_dir tmp_{"grace-daemons"};
  std::string dir_ = tmp_.path();
  std::string pg_, redis_port_, nginx_port_, pg_port_, config_;
  std::unique_ptr<background> g_;
  std::vector<int> seen_;
};

} // namespace

TEST_F(RealDaemons, AreHealedAndNothingOfThemOutlivesAKilledGrace) {
  run();
  auto pids = all_running();
  ASSERT_EQ(pids.size(), 3u);
  if (err().find("a cgroup per component") == std::string::npos)
    GTEST_SKIP() << "no writable cgroup v2 here: postgres' helpers leave the "
                    "postmaster's process group (setsid) and would escape";
  // nginx runs a master and two workers; postgres a postmaster and its
  // helpers (each in a session of its own): all in their cgroups.
  EXPECT_GE(everything(pids).size(), 3u + 2u + 3u);

  // kill -9 of each main process: restarted, ready, verified.
  std::size_t resolved = 0;
  for (auto& name : components) {
    ::kill(pids[name], SIGKILL);
    ++resolved;
    EXPECT_TRUE(wait_until(
      [&] {
        return count("\"component\":\"root/" + name + "\"") >= 2
               && count("\"status\":\"resolved\"") >= resolved;
      },
      120s))
      << name << ": " << slurp(dir_ + "/logs/incidents.jsonl") << err();
    EXPECT_FALSE(alive(pids[name]));
  }
  auto again = all_running();
  for (auto& name : components)
    EXPECT_NE(again[name], pids[name]) << name;
  EXPECT_EQ(count("\"failure_mode\":\"port_in_use\""), 0u)
    << slurp(dir_ + "/logs/incidents.jsonl");

  // kill -9 of grace: nothing of any of them left.
  auto all = everything(again);
  ASSERT_GE(all.size(), 8u);
  g_->signal(SIGKILL);
  EXPECT_EQ(g_->wait(10s), 128 + SIGKILL);
  EXPECT_TRUE(wait_until([&] {
    return std::none_of(all.begin(), all.end(), [](int p) { return alive(p); });
  }))
    << err();
  // Reaped (they were re-parented here).
  EXPECT_TRUE(wait_until([&] {
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    return std::none_of(all.begin(), all.end(), [](int p) {
      return fs::exists("/proc/" + std::to_string(p));
    });
  }));
  // Started again: all three ready, no port held by a leftover.
  auto before = lines_of(dir_ + "/logs/incidents.jsonl").size();
  run();
  auto mains = all_running();
  auto lines = lines_of(dir_ + "/logs/incidents.jsonl");
  for (auto i = before; i < lines.size(); ++i)
    EXPECT_EQ(lines[i].find("port_in_use"), std::string::npos) << lines[i];
  auto last = everything(mains);
  g_->signal(SIGTERM);
  EXPECT_EQ(g_->wait(60s), 0) << err();
  for (auto pid : last)
    EXPECT_FALSE(alive(pid)) << pid;
}
