#include "actors/tracker.hpp"

#include <chrono>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "actors/messages.hpp"
#include "config/defaults.hpp"
#include "runtime/audit_log.hpp"
#include "runtime/incident.hpp"
#include "runtime/output.hpp"
#include "runtime/snapshot.hpp"

namespace grace::actors {

namespace {

using runtime::incident;
using runtime::incident_status;

// Past this many, further failures and actions are only counted: a
// component failing for hours must not grow one incident without bound.
constexpr std::size_t max_actions = 64;

struct open_incident {
  incident inc;
  std::int64_t detected_ns = 0;
  std::int32_t pid = 0; // of the instance that failed
  std::int32_t code = 0;
  std::int32_t signal = 0;
  std::string reason;
};

struct tracker_state {
  static inline const char* name = "grace.tracker";
  tracker_options opts;
  std::unordered_map<std::string, open_incident> open;
  runtime::incident_ids ids;
  std::unordered_map<std::string, const config::child_spec*> children;
  std::unordered_map<std::string, const config::supervisor_spec*> supervisors;
  bool stopped = false;
};

// Wall-clock microseconds at steady-clock nanoseconds `at_ns`.
std::int64_t wall_us_at(std::int64_t at_ns) {
  auto wall = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  return wall - (steady_ns() - at_ns) / 1000;
}

class tracker_actor : public caf::stateful_actor<tracker_state> {
public:
  tracker_actor(caf::actor_config& cfg, tracker_options opts)
      : caf::stateful_actor<tracker_state>(cfg) {
    state.opts = std::move(opts);
    if (state.opts.root)
      index(*state.opts.root);
  }

  caf::behavior make_behavior() override {
    return {
      [this](const incident_note& n) { on_note(n); },
      [this](stop_atom) {
        close_all("abandoned", "grace stopped before it recovered");
        state.stopped = true;
        return true;
      },
    };
  }

private:
  void index(const config::supervisor_spec& s) {
    state.supervisors[s.path] = &s;
    for (auto& c : s.children) {
      if (auto* child = std::get_if<config::child_spec>(&c.node))
        state.children[child->path] = child;
      else
        index(std::get<config::supervisor_spec>(c.node));
    }
  }

  void on_note(const incident_note& n) {
    switch (n.kind) {
      case note_kind::failed:
        failed(n);
        return;
      case note_kind::action:
        if (auto it = state.open.find(n.path); it != state.open.end()) {
          auto& inc = it->second.inc;
          if (n.step == "restart")
            ++inc.attempts;
          add_action(inc, action_of(n));
        }
        return;
      case note_kind::recovered:
        if (auto it = state.open.find(n.path); it != state.open.end())
          resolve(it, n);
        return;
      case note_kind::closed:
        close(n);
        return;
    }
  }

  runtime::incident_action action_of(const incident_note& n) {
    runtime::incident_action a;
    a.step = n.step;
    a.ok = n.ok;
    a.at_us = wall_us_at(n.at_ns ? n.at_ns : steady_ns());
    if (n.pid > 0)
      a.fields.emplace_back("pid", std::int64_t{n.pid});
    if (!n.detail.empty())
      a.fields.emplace_back("detail", n.detail);
    return a;
  }

  static void add_action(incident& inc, runtime::incident_action a) {
    if (inc.actions.size() < max_actions)
      inc.actions.push_back(std::move(a));
  }

  std::string severity_of(const std::string& path, const std::string& mode) {
    auto fm = config::from_string<config::failure_mode>(mode);
    if (!fm)
      return std::string{to_string(config::severity::high)};
    if (auto it = state.children.find(path); it != state.children.end()) {
      auto& overrides = it->second->severity;
      if (auto o = overrides.find(*fm); o != overrides.end())
        return std::string{to_string(o->second)};
    }
    return std::string{to_string(config::defaults::severity_of(*fm))};
  }

  void failed(const incident_note& n) {
    auto at = n.at_ns ? n.at_ns : steady_ns();
    if (auto it = state.open.find(n.path); it != state.open.end()) {
      // Counted on the open incident, not opened again.
      auto& o = it->second;
      ++o.inc.failures;
      o.pid = n.pid;
      o.code = n.code;
      o.signal = n.signal;
      o.reason = n.detail;
      runtime::incident_action a;
      a.step = "failure";
      a.ok = false;
      a.at_us = wall_us_at(at);
      if (n.pid > 0)
        a.fields.emplace_back("pid", std::int64_t{n.pid});
      a.fields.emplace_back("mode", n.mode);
      a.fields.emplace_back("detail", n.detail);
      add_action(o.inc, std::move(a));
      return;
    }
    open_incident o;
    o.detected_ns = at;
    o.pid = n.pid;
    o.code = n.code;
    o.signal = n.signal;
    o.reason = n.detail;
    auto& inc = o.inc;
    inc.detected_us = wall_us_at(at);
    inc.id = state.ids.next(inc.detected_us);
    inc.component = n.path;
    inc.failure_mode = n.mode;
    inc.severity = severity_of(n.path, n.mode);
    inc.playbook = "restart";
    if (n.failed_ns > 0 && n.failed_ns <= at)
      inc.ttd_seconds = static_cast<double>(at - n.failed_ns) / 1e9;
    if (n.pid > 0)
      inc.detail.emplace_back("pid", std::int64_t{n.pid});
    if (n.signal > 0)
      inc.detail.emplace_back("signal", std::int64_t{n.signal});
    else if (n.mode == "exited")
      inc.detail.emplace_back("code", std::int64_t{n.code});
    inc.detail.emplace_back("reason", n.detail);
    write(inc);
    state.open.emplace(n.path, std::move(o));
  }

  void resolve(std::unordered_map<std::string, open_incident>::iterator it,
               const incident_note& n) {
    auto at = n.at_ns ? n.at_ns : steady_ns();
    auto& o = it->second;
    auto& inc = o.inc;
    runtime::incident_action verify;
    verify.step = "verify";
    verify.ok = true;
    verify.at_us = wall_us_at(at);
    verify.fields.emplace_back("ready", n.step.empty() ? "running" : n.step);
    if (n.pid > 0)
      verify.fields.emplace_back("pid", std::int64_t{n.pid});
    // The verification is always recorded, even past the cap.
    inc.actions.push_back(std::move(verify));
    inc.status = incident_status::resolved;
    inc.closed_us = wall_us_at(at);
    inc.mttr_seconds
      = static_cast<double>(std::max<std::int64_t>(0, at - o.detected_ns))
        / 1e9;
    write(inc);
    spdlog::debug("incident {} resolved: {} {} in {:.3f} ms", inc.id,
                  inc.component, inc.failure_mode, *inc.mttr_seconds * 1e3);
    state.open.erase(it);
  }

  void close(const incident_note& n) {
    auto status = runtime::incident_status_from(n.status).value_or(
      incident_status::failed);
    std::vector<std::string> paths;
    for (auto& [path, o] : state.open)
      if (path == n.path
          || (n.subtree && path.size() > n.path.size()
              && path.compare(0, n.path.size(), n.path) == 0
              && path[n.path.size()] == '/'))
        paths.push_back(path);
    for (auto& path : paths) {
      auto it = state.open.find(path);
      finish(it, status, n.detail, n.at_ns ? n.at_ns : steady_ns());
    }
  }

  void close_all(const std::string& status, const std::string& why) {
    auto st = runtime::incident_status_from(status).value_or(
      incident_status::abandoned);
    while (!state.open.empty())
      finish(state.open.begin(), st, why, steady_ns());
  }

  void finish(std::unordered_map<std::string, open_incident>::iterator it,
              incident_status status, const std::string& why, std::int64_t at) {
    auto& o = it->second;
    auto& inc = o.inc;
    inc.status = status;
    inc.closed_us = wall_us_at(at);
    if (!why.empty())
      inc.detail.emplace_back("outcome", why);
    if (status == incident_status::held)
      snapshot(o, "held");
    write(inc);
    spdlog::debug("incident {} {}: {} {}", inc.id, to_string(status),
                  inc.component, inc.failure_mode);
    state.open.erase(it);
  }

  // Queues the component's snapshot before the line that references it.
  void snapshot(open_incident& o, const char* what) {
    if (!state.opts.log)
      return;
    auto& inc = o.inc;
    runtime::snapshot_input in;
    in.incident_id = inc.id;
    in.component = inc.component;
    in.state = what;
    in.pid = o.pid;
    in.exit_code = o.code;
    in.exit_signal = o.signal;
    in.reason = o.reason;
    in.at_us = wall_us_at(steady_ns());
    if (auto it = state.children.find(inc.component);
        it != state.children.end()) {
      in.child = it->second;
      auto base = state.opts.log_dir + "/" + runtime::log_name(inc.component);
      in.stdout_file = base + ".out";
      in.stderr_file = base + ".err";
    } else if (auto s = state.supervisors.find(inc.component);
               s != state.supervisors.end()) {
      in.supervisor = s->second;
    }
    auto relative = "snapshots/" + inc.id + ".json";
    // The closure keeps the specs it points into alive.
    state.opts.log->write_file(
      state.opts.log_dir + "/" + relative,
      [in, keep = state.opts.root] { return runtime::make_snapshot(in); });
    inc.snapshot = relative;
  }

  void write(const incident& inc) {
    if (state.opts.log)
      state.opts.log->append(runtime::to_json_line(inc));
  }
};

} // namespace

caf::actor spawn_tracker(caf::actor_system& sys, tracker_options opts) {
  return sys.spawn<tracker_actor>(std::move(opts));
}

} // namespace grace::actors
