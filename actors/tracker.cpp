#include "actors/tracker.hpp"

#include <chrono>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "actors/incident_book.hpp"
#include "actors/messages.hpp"
#include "actors/run_report.hpp"
#include "config/defaults.hpp"
#include "runtime/audit_log.hpp"
#include "runtime/incident.hpp"
#include "runtime/metrics.hpp"
#include "runtime/output.hpp"
#include "runtime/snapshot.hpp"

namespace grace::actors {

namespace {

using runtime::incident;
using runtime::incident_status;

struct tracker_state {
  static inline const char* name = "grace.tracker";
  tracker_options opts;
  incident_book book;
  std::unordered_map<std::string, const config::child_spec*> children;
  std::unordered_map<std::string, const config::supervisor_spec*> supervisors;
  /// Each component's latest failure, whatever noticed it (an exit, a
  /// probe, a held port): what `grace status` shows as LAST FAILURE.
  std::unordered_map<std::string, component_status> last_failures;
};

class tracker_actor : public caf::stateful_actor<tracker_state> {
public:
  tracker_actor(caf::actor_config& cfg, tracker_options opts)
      : caf::stateful_actor<tracker_state>(cfg) {
    state.opts = std::move(opts);
    state.book = incident_book{state.opts.node};
    if (state.opts.root)
      index(*state.opts.root);
  }

  caf::behavior make_behavior() override {
    log_stray_messages(this);
    return {
      [this](const failure_note& n) { on_failure(n); },
      [this](const incident_note& n) { on_note(n); },
      [this](reload_atom, const spec_update& u) {
        // `grace reload`: severities and snapshots from the new tree.
        state.opts.root = u.spec;
        state.children.clear();
        state.supervisors.clear();
        index(*u.spec);
      },
      [this](get_atom, const std::string& path) {
        // The open incident of `path` as it stands: (id, JSON line), or two
        // empty strings. Playbooks hand it to hooks and webhooks.
        if (auto* o = state.book.find(path))
          return caf::make_message(o->inc.id, runtime::to_json_line(o->inc));
        return caf::make_message(std::string{}, std::string{});
      },
      [this](status_atom) {
        status_list out;
        out.reserve(state.last_failures.size());
        for (auto& [path, s] : state.last_failures)
          out.push_back(s);
        return out;
      },
      [this](stop_atom) {
        for (auto& o : state.book.close_all(incident_status::abandoned,
                                            "grace stopped before it recovered",
                                            now_wall_us()))
          write(o.inc);
        return true;
      },
    };
  }

private:
  std::int64_t now_wall_us() const { return state.opts.time->wall_us(); }

  void index(const config::supervisor_spec& s) {
    state.supervisors[s.path] = &s;
    for (auto& c : s.children) {
      if (auto* child = std::get_if<config::child_spec>(&c.node))
        state.children[child->path] = child;
      else
        index(std::get<config::supervisor_spec>(c.node));
    }
  }

  void on_failure(const failure_note& n) {
    failure_event e;
    e.path = n.path;
    e.what = n.what;
    e.severity = n.severity ? *n.severity : severity_of(n.path, n.what.mode);
    e.at_ns = n.at_ns ? n.at_ns : state.opts.time->steady_ns();
    e.wall_us = state.opts.time->wall_us_at(e.at_ns);
    e.needs_verification = n.verified;
    e.playbook = n.playbook;
    if (!n.caused_by.empty())
      e.caused_by = state.book.incident_of(n.caused_by);
    auto& last = state.last_failures[n.path];
    last.path = n.path;
    last.last_failure
      = std::string{to_string(n.what.mode)} + ": " + n.what.detail;
    last.failed_ns = e.at_ns;
    if (auto opened = state.book.failed(e))
      write(*opened);
  }

  void on_note(const incident_note& n) {
    auto at = n.at_ns ? n.at_ns : state.opts.time->steady_ns();
    auto wall = state.opts.time->wall_us_at(at);
    switch (n.kind) {
      case note_kind::snapshot:
        if (auto* o = state.book.find(n.path))
          state.book.set_snapshot(
            n.path, snapshot(*o, to_string(n.state), n.status_text, n.pid));
        [[fallthrough]]; // and recorded as an action
      case note_kind::action: {
        runtime::incident_action a;
        a.step = n.step;
        a.ok = n.ok;
        a.at_us = wall;
        if (n.pid > 0)
          a.fields.emplace_back("pid", std::int64_t{n.pid});
        auto extra = to_detail(n.fields);
        a.fields.insert(a.fields.end(), extra.begin(), extra.end());
        if (!n.detail.empty())
          a.fields.emplace_back("detail", n.detail);
        state.book.act(n.path, std::move(a), n.attempt, n.playbook);
        return;
      }
      case note_kind::recovered:
        if (auto closed
            = state.book.recovered(n.path, n.step.empty() ? "running" : n.step,
                                   n.pid, at, wall, n.verified)) {
          write(*closed);
          spdlog::debug("incident {} resolved: {} {} in {:.3f} ms", closed->id,
                        closed->component, closed->failure_mode,
                        closed->mttr_seconds.value_or(0) * 1e3);
        }
        return;
      case note_kind::closed: {
        std::optional<config::severity> severity;
        if (n.severity)
          severity = *n.severity;
        for (auto& o : state.book.close(n.path, n.subtree, n.status, n.detail,
                                        wall, severity)) {
          if (n.status == incident_status::held)
            o.inc.snapshot = snapshot(o, "held");
          write(o.inc);
        }
        return;
      }
    }
  }

  config::severity severity_of(const std::string& path,
                               config::failure_mode mode) {
    if (auto it = state.children.find(path); it != state.children.end()) {
      auto& overrides = it->second->severity;
      if (auto o = overrides.find(mode); o != overrides.end())
        return o->second;
    }
    return config::defaults::severity_of(mode);
  }

  // Queues the component's snapshot before the line that references it;
  // returns its path relative to the log directory.
  // The component as `what` (its state) with `pid` (0: the one that
  // failed last).
  std::string snapshot(const open_incident& o, std::string_view what,
                       const std::string& status_text = {},
                       std::int32_t pid = 0) {
    if (!state.opts.log)
      return {};
    auto& inc = o.inc;
    runtime::snapshot_input in;
    in.incident_id = inc.id;
    in.component = inc.component;
    in.state = std::string{what};
    in.pid = pid > 0 ? pid : o.last.pid;
    in.exit_code = o.last.code;
    in.exit_signal = o.last.signal;
    in.reason = o.last.detail;
    in.status_text = status_text;
    in.at_us = now_wall_us();
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
    return relative;
  }

  void write(const incident& inc) {
    if (state.opts.metrics && inc.status != incident_status::open)
      state.opts.metrics->incident_closed(
        inc.failure_mode, inc.severity,
        std::string{runtime::to_string(inc.status)},
        inc.mttr_seconds.value_or(-1));
    if (state.opts.report)
      state.opts.report->add(inc);
    auto line = runtime::to_json_line(inc);
    if (state.opts.events)
      send(state.opts.events, event_atom::value, line);
    if (state.opts.log)
      state.opts.log->append(std::move(line));
  }
};

} // namespace

caf::actor spawn_tracker(caf::actor_system& sys, tracker_options opts) {
  return sys.spawn<tracker_actor>(std::move(opts));
}

} // namespace grace::actors
