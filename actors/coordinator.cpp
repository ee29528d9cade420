#include "actors/coordinator.hpp"

#include <optional>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "actors/messages.hpp"
#include "actors/playbook.hpp"
#include "playbooks/plan.hpp"

namespace grace::actors {

namespace {

struct healing {
  std::uint64_t id = 0; // which healing of this component
  caf::actor child;
  caf::actor playbook;
};

struct coordinator_state {
  static inline const char* name = "grace.coordinator";
  coordinator_options opts;
  std::unordered_map<std::string, const config::child_spec*> children;
  std::unordered_map<std::string, healing> active; // component -> healing
  std::uint64_t next_id = 0;
};

class coordinator_actor : public caf::stateful_actor<coordinator_state> {
public:
  coordinator_actor(caf::actor_config& cfg, coordinator_options opts)
      : caf::stateful_actor<coordinator_state>(cfg) {
    state.opts = std::move(opts);
    if (state.opts.config)
      config::for_each_child(
        state.opts.config->root,
        [this](const config::child_spec& c) { state.children[c.path] = &c; });
  }

  caf::behavior make_behavior() override {
    set_down_handler([this](caf::down_msg& dm) {
      for (auto& [path, h] : state.active)
        if (h.playbook && h.playbook.address() == dm.source) {
          if (dm.reason) {
            auto p = path; // ended() erases it
            note(closed_note(p, "failed",
                             "its playbook ended: " + to_string(dm.reason)));
            ended(p, h.id, false, "its playbook ended");
          }
          return;
        }
    });
    return {
      [this](const failure_report& f) { on_failure(f); },
      [this](done_atom, const std::string& path, std::uint64_t id,
             bool resolved,
             const std::string& why) { ended(path, id, resolved, why); },
    };
  }

private:
  void note(incident_note n) {
    if (state.opts.tracker)
      send(state.opts.tracker, std::move(n));
  }

  // The playbook that heals `mode` for `path`: its `on:` entry, else the
  // mode's default; built-ins get this node's verification deadline.
  std::optional<playbooks::plan> plan_for(const std::string& path,
                                          const std::string& mode) {
    auto fm = config::from_string<config::failure_mode>(mode);
    std::string name = fm ? std::string{playbooks::default_playbook(*fm)}
                          : std::string{"restart"};
    if (auto it = state.children.find(path); fm && it != state.children.end())
      name = playbooks::playbook_for(*it->second, *fm);
    static const config::grace_config none;
    auto plan
      = playbooks::plan_of(state.opts.config ? *state.opts.config : none, name);
    if (plan && plan->builtin)
      for (auto& s : plan->steps) {
        if (s.what == config::step_spec::kind::verify)
          s.within = s.timeout = state.opts.verify_within;
        if (s.what == config::step_spec::kind::restart
            || s.what == config::step_spec::kind::start)
          s.timeout = state.opts.restart_within;
      }
    return plan;
  }

  void on_failure(const failure_report& f) {
    auto plan = plan_for(f.path, f.mode);
    // Classify: the reporter's mode, its severity (else the tracker applies
    // the component's overrides or the mode's default).
    auto n = failed_note(f.path, f.mode, f.detail, f.at_ns);
    n.severity = f.severity;
    n.output = f.output;
    n.failed_ns = f.failed_ns;
    n.pid = f.pid;
    n.code = f.code;
    n.signal = f.signal;
    n.fields = f.fields;
    n.playbook = plan ? plan->name : "restart";
    n.verified = true;
    note(n); // opens it, or counts on the one open
    if (state.active.count(f.path))
      return; // already healing: counted, not remediated twice
    auto id = ++state.next_id;
    if (!plan || plan->steps.empty()
        || plan->steps.front().what != config::step_spec::kind::snapshot) {
      // Before anything acts on it (unless the playbook's first step is
      // to snapshot it).
      auto snap = action_note(f.path, "snapshot", "before " + n.playbook);
      snap.kind = note_kind::snapshot;
      snap.status_text = f.status_text;
      note(std::move(snap));
    }
    if (!plan) {
      // Can't happen: the loader checks every `on:` entry.
      note(closed_note(f.path, "failed", "no playbook " + n.playbook));
      return;
    }
    spdlog::warn("{}: {}; healing it with {}", f.path, f.detail, plan->name);
    playbook_job job;
    job.id = id;
    job.path = f.path;
    job.mode = f.mode;
    job.detail = f.detail;
    job.plan = std::move(*plan);
    job.child = f.child;
    job.supervisor = f.supervisor;
    job.tracker = state.opts.tracker;
    job.config = state.opts.config;
    job.io = state.opts.io;
    auto actor = spawn_playbook(this, std::move(job));
    state.active[f.path] = healing{id, f.child, actor};
  }

  void ended(const std::string& path, std::uint64_t id, bool resolved,
             const std::string& why) {
    auto it = state.active.find(path);
    if (it == state.active.end() || it->second.id != id)
      return;
    auto child = it->second.child;
    state.active.erase(it);
    if (resolved || !child)
      return;
    // Its monitors start counting afresh: a component still sick raises a
    // new failure (and its restarts count toward the intensity). A start
    // held back by a held port is over: the supervisor decides.
    send(child, unpause_atom::value);
    send(child, blocked_atom::value, why);
  }
};

} // namespace

caf::actor spawn_coordinator(caf::actor_system& sys, coordinator_options opts) {
  return sys.spawn<coordinator_actor>(std::move(opts));
}

} // namespace grace::actors
