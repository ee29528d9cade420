// A real supervision tree in the test process: a threaded actor system, the
// I/O thread, and real crashy_child processes. The tree is described in YAML
// (CRASHY and DIR are replaced by the helper's path and a temporary
// directory); the root reports to a recorder actor; children leave stamps
// (one line per start) and pid files in DIR.
#pragma once

#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "actors/coordinator.hpp"
#include "actors/messages.hpp"
#include "actors/node_context.hpp"
#include "actors/run_report.hpp"
#include "actors/supervisor.hpp"
#include "actors/system.hpp"
#include "actors/tracker.hpp"
#include "config/cluster.hpp"
#include "config/loader.hpp"
#include "runtime/audit_log.hpp"
#include "runtime/incident.hpp"
#include "runtime/io_loop.hpp"
#include "tests/support/log_capture.hpp"
#include "tests/support/proc.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/wait_until.hpp"

namespace grace::test {

/// A child entry that stamps each start in DIR/<name>.stamp, then runs
/// `extra` crashy_child options.
inline std::string child(const std::string& name, const std::string& extra = "",
                         const std::string& keys = "") {
  std::string args = "CRASHY, --stamp, DIR/" + name + ".stamp";
  if (!extra.empty())
    args += ", " + extra;
  return "    - {name: " + name + ", command: [" + args + "]"
         + (keys.empty() ? "" : ", " + keys) + "}\n";
}

inline std::string
tree(const std::string& strategy, const std::string& children,
     const std::string& extra = "intensity: 10, period: 10s") {
  std::string keys;
  for (std::size_t pos = 0; pos < extra.size();) {
    auto comma = extra.find(", ", pos);
    auto item = extra.substr(pos, comma == std::string::npos ? std::string::npos
                                                             : comma - pos);
    keys += "  " + item + "\n";
    pos = comma == std::string::npos ? extra.size() : comma + 2;
  }
  return "grace: 1\ndefaults: {backoff: {min: 0s}}\nsupervisor:\n  strategy: "
         + strategy + "\n" + keys + "  children:\n" + children;
}

/// Root reports, as the node would see them.
struct report_log {
  std::mutex mutex;
  std::vector<actors::child_report> reports;

  std::size_t count(actors::report_kind kind) {
    std::lock_guard<std::mutex> guard{mutex};
    std::size_t n = 0;
    for (auto& r : reports)
      if (r.kind == kind)
        ++n;
    return n;
  }

  std::vector<actors::child_report> all() {
    std::lock_guard<std::mutex> guard{mutex};
    return reports;
  }
};

/// Stands in for the node: owns the root supervisor, records its reports.
class recorder : public caf::event_based_actor {
public:
  recorder(caf::actor_config& cfg,
           std::shared_ptr<const config::supervisor_spec> spec,
           actors::node_context_ptr ctx, report_log* log)
      : caf::event_based_actor(cfg), spec_(std::move(spec)),
        ctx_(std::move(ctx)), log_(log) {}

  caf::behavior make_behavior() override {
    set_exit_handler([this](caf::exit_msg& em) {
      if (root_)
        send_exit(root_, em.reason);
      quit(em.reason);
    });
    set_down_handler([](caf::down_msg&) {});
    root_ = actors::spawn_supervisor(this, spec_, ctx_);
    send(root_, actors::start_atom::value);
    return {
      [this](const actors::child_report& r) {
        std::lock_guard<std::mutex> guard{log_->mutex};
        log_->reports.push_back(r);
      },
      [this](actors::stop_atom) { send(root_, actors::stop_atom::value); },
      [this](actors::start_atom) { send(root_, actors::start_atom::value); },
      // The operator's start, stop and restart, as the node passes them on.
      [this](actors::op_atom op, const std::string& verb,
             const std::string& who) { return delegate(root_, op, verb, who); },
    };
  }

private:
  std::shared_ptr<const config::supervisor_spec> spec_;
  actors::node_context_ptr ctx_;
  report_log* log_;
  caf::actor root_;
};

class Supervision : public ::testing::Test {
protected:
  Supervision() { logs_ = log_capture::install(); }

  ~Supervision() override {
    if (tree_) {
      // Stop the tree the way grace does, then kill whatever is left.
      caf::anon_send(tree_, actors::stop_atom::value);
      wait_until([&] { return reports_.count(actors::report_kind::stopped); },
                 default_patience);
      caf::anon_send_exit(tree_, caf::exit_reason::user_shutdown);
    }
    for (auto pid : all_pids())
      kill_if_alive(pid);
    for (auto& a : {tracker_, coordinator_})
      if (a)
        caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sys_.await_all_actors_done();
    io_.reset();
    audit_.reset(); // writes what is still queued
  }

  /// Substitutes CRASHY and DIR in `yaml`.
  std::string expand(std::string yaml) const {
    for (auto [from, to] :
         {std::pair<std::string, std::string>{"CRASHY", GRACE_CRASHY_CHILD},
          {"DIR", dir_}}) {
      for (auto pos = yaml.find(from); pos != std::string::npos;
           pos = yaml.find(from, pos + to.size()))
        yaml.replace(pos, from.size(), to);
    }
    return yaml;
  }

  /// Loads `yaml` and starts its tree.
  void start(const std::string& yaml) {
    auto r = config::load_text(expand(yaml), "test.yaml", dir_);
    ASSERT_TRUE(r.config) << to_string(r.errors.front());
    cfg_ = *r.config;
    auto ctx = std::make_shared<actors::node_context>();
    ctx->io = io_.get();
    ctx->log_dir = dir_ + "/logs";
    ctx->default_backoff = cfg_.default_backoff;
    ctx->ready_poll = std::chrono::milliseconds{5};
    ctx->output_max_bytes = output_max_bytes_;
    ctx->output_keep = 2;
    auto root = std::make_shared<const config::supervisor_spec>(cfg_.root);
    runtime::audit_log::options audit;
    audit.path = audit_path();
    audit.fsync = runtime::audit_log::sync::never;
    audit_ = std::make_unique<runtime::audit_log>(audit);
    tracker_ = actors::spawn_tracker(
      sys_, {audit_.get(), ctx->log_dir, root, {}, {}, report_});
    ctx->tracker = tracker_;
    actors::coordinator_options heal;
    heal.tracker = tracker_;
    heal.verify_within = verify_within_;
    heal.config = std::make_shared<const config::grace_config>(cfg_);
    heal.io = io_.get();
    heal.topology = std::make_shared<const config::topology>(cfg_.root);
    ctx->topology = heal.topology;
    for (auto& [who, deps] : config::layout_of(cfg_).gated)
      ctx->gated.insert(who);
    if (cfg_.restart_budget)
      ctx->budget = std::make_shared<actors::restart_budget>(
        cfg_.restart_budget->restarts, cfg_.restart_budget->period);
    coordinator_ = stand_in_coordinator_
                     ? stand_in_coordinator_
                     : actors::spawn_coordinator(sys_, heal);
    ctx->coordinator = coordinator_;
    tree_ = sys_.spawn<recorder>(root, ctx, &reports_);
  }

  /// Returns (pid, CLOCK_MONOTONIC ns) of every start of `name`, in order.
  std::vector<std::pair<int, long long>> stamps(const std::string& name) const {
    std::vector<std::pair<int, long long>> result;
    std::ifstream in{dir_ + "/" + name + ".stamp"};
    int pid = 0;
    long long ns = 0;
    while (in >> pid >> ns)
      result.emplace_back(pid, ns);
    return result;
  }

  /// Returns the pids `name` was started with, in order.
  std::vector<int> starts(const std::string& name) const {
    std::vector<int> pids;
    for (auto& [pid, ns] : stamps(name))
      pids.push_back(pid);
    return pids;
  }

  /// Returns the start times of `name`, in nanoseconds.
  std::vector<long long> start_times(const std::string& name) const {
    std::vector<long long> times;
    for (auto& [pid, ns] : stamps(name))
      times.push_back(ns);
    return times;
  }

  /// Waits until `name` has been started `n` times.
  ::testing::AssertionResult wait_starts(const std::string& name, std::size_t n,
                                         std::chrono::milliseconds timeout
                                         = default_patience) {
    return wait_until([&] { return starts(name).size() >= n; }, timeout,
                      [&] {
                        return name + " started "
                               + std::to_string(starts(name).size())
                               + " times, not " + std::to_string(n)
                               + "; log:" + logs_->tail();
                      });
  }

  /// Waits until every child in `names` has stamped its first start. A
  /// child is "ready" (default rule: running) as soon as it is spawned,
  /// which can be before it has run a line of its own code.
  ::testing::AssertionResult wait_up(std::initializer_list<const char*> names) {
    for (auto n : names)
      if (auto up = wait_starts(n, 1); !up)
        return up;
    return ::testing::AssertionSuccess();
  }

  /// Asks the tree for `verb` (start, stop, restart) on `who` as the
  /// operator would; returns the error, if any.
  caf::error operate(const std::string& verb, const std::string& who) {
    caf::error out;
    caf::scoped_actor self{sys_}; // gone before the system shuts down
    self
      ->request(tree_, std::chrono::seconds{30}, actors::op_atom::value, verb,
                who)
      .receive([](bool) {}, [&](caf::error& err) { out = std::move(err); });
    return out;
  }

  /// Returns the current pid of `name` (its last start).
  int pid_of(const std::string& name) const {
    auto pids = starts(name);
    return pids.empty() ? -1 : pids.back();
  }

  /// SIGKILLs the current process of `name`, once it has stamped its start.
  /// Never signals a pid <= 1: kill(-1) would hit every process we may
  /// signal.
  void kill_child(const std::string& name) {
    ASSERT_TRUE(wait_starts(name, 1));
    auto pid = pid_of(name);
    ASSERT_GT(pid, 1);
    ASSERT_TRUE(alive(pid));
    ::kill(pid, SIGKILL);
  }

  /// Waits until the child has written DIR/`name`.pid (--pid-file): it has
  /// run its own code up to there (set SIGTERM aside, say).
  ::testing::AssertionResult wait_pid_file(const std::string& name) {
    return wait_until(
      [&] { return !slurp(dir_ + "/" + name + ".pid").empty(); });
  }

  /// Stops the tree as grace does and waits until the root reports it
  /// stopped.
  ::testing::AssertionResult stop_tree() {
    caf::anon_send(tree_, actors::stop_atom::value);
    return wait_report(actors::report_kind::stopped);
  }

  /// Waits until the root reported `kind` at least `n` times.
  ::testing::AssertionResult
  wait_report(actors::report_kind kind, std::size_t n = 1,
              std::chrono::milliseconds timeout = default_patience) {
    return wait_until([&] { return reports_.count(kind) >= n; }, timeout,
                      [&] {
                        return std::to_string(reports_.count(kind))
                               + " such reports of the root, not "
                               + std::to_string(n) + "; log:" + logs_->tail();
                      });
  }

  /// Waits until the I/O thread has run everything posted to it so far
  /// (a log probe's follower set up at its monitor's start, say).
  void sync_io() {
    std::promise<void> done;
    auto ran = done.get_future();
    io_->post([&done] { done.set_value(); });
    ASSERT_EQ(ran.wait_for(patience(default_patience)),
              std::future_status::ready);
  }

  /// Returns the audit log's path.
  std::string audit_path() const { return dir_ + "/logs/incidents.jsonl"; }

  /// Returns every line of the audit log written so far, parsed.
  std::vector<runtime::incident> incident_lines() {
    std::vector<runtime::incident> out;
    if (!audit_ || !audit_->flush(patience(default_patience)))
      return out;
    std::ifstream in{audit_path()};
    for (std::string line; std::getline(in, line);)
      if (auto x = runtime::incident_from_json(line))
        out.push_back(std::move(*x));
    return out;
  }

  /// Returns the closed incidents (their last line), in closing order.
  std::vector<runtime::incident> closed_incidents() {
    std::vector<runtime::incident> out;
    for (auto& x : incident_lines())
      if (x.status != runtime::incident_status::open)
        out.push_back(std::move(x));
    return out;
  }

  /// Waits until at least `n` incidents are closed.
  ::testing::AssertionResult wait_closed(std::size_t n,
                                         std::chrono::milliseconds timeout
                                         = default_patience) {
    return wait_until([&] { return closed_incidents().size() >= n; }, timeout,
                      [&] {
                        std::string seen
                          = std::to_string(closed_incidents().size())
                            + " incidents closed, not " + std::to_string(n)
                            + "; audit log:";
                        for (auto& line : lines_of(audit_path()))
                          seen += "\n    " + line;
                        return seen + "\n  log:" + logs_->tail();
                      });
  }

  /// Waits until a log message containing `text` appears `n` times.
  ::testing::AssertionResult
  wait_log(const std::string& text, std::size_t n = 1,
           std::chrono::milliseconds timeout = default_patience) {
    return wait_until([&] { return logs_->count(text) >= n; }, timeout,
                      [&] {
                        return "'" + text + "' logged "
                               + std::to_string(logs_->count(text))
                               + " times, not " + std::to_string(n)
                               + "; log:" + logs_->tail();
                      });
  }

  std::vector<int> all_pids() const {
    std::vector<int> pids;
    for (auto& e : std::filesystem::directory_iterator{dir_})
      if (e.path().extension() == ".stamp")
        for (auto pid : starts(e.path().stem().string()))
          pids.push_back(pid);
    return pids;
  }

  temp_dir tmp_{"grace-sup"};
  std::string dir_ = tmp_.path();
  std::uint64_t output_max_bytes_ = 16 * 1024 * 1024;
  std::shared_ptr<log_capture> logs_;
  std::unique_ptr<caf::actor_system_config> sys_cfg_
    = actors::make_config({false, 2});
  caf::actor_system sys_{*sys_cfg_};
  std::unique_ptr<runtime::io_loop> io_ = std::make_unique<runtime::io_loop>();
  config::grace_config cfg_;
  report_log reports_;
  std::unique_ptr<runtime::audit_log> audit_;
  /// The end-of-run table the tracker fills.
  std::shared_ptr<actors::run_report> report_
    = std::make_shared<actors::run_report>();
  caf::actor tracker_;
  caf::actor coordinator_;
  /// Set before start(): receives what the coordinator would.
  caf::actor stand_in_coordinator_;
  std::chrono::milliseconds verify_within_ = patience(default_patience);
  caf::actor tree_;
};

} // namespace grace::test
