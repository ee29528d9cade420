#include "actors/coordinator.hpp"

#include <deque>
#include <optional>
#include <set>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "actors/messages.hpp"
#include "actors/playbook.hpp"
#include "config/cluster.hpp"
#include "playbooks/plan.hpp"

namespace grace::actors {

namespace {

struct healing {
  std::uint64_t id = 0; // which healing of this component
  caf::actor child;
  caf::actor playbook;
  caf::actor supervisor;
  bool exit = false; // an exit its supervisor handed over (`on:`)
};

/// A component that depends on others, as its supervisor registered it.
struct member {
  caf::actor handle; // its process actor (or nested supervisor)
  caf::actor supervisor;
};

struct coordinator_state {
  static inline const char* name = "grace.coordinator";
  coordinator_options opts;
  std::unordered_map<std::string, const config::child_spec*> children;
  std::unordered_map<std::string, healing> active; // component -> healing
  std::uint64_t next_id = 0;
  // -- topology
  std::unordered_map<std::string, member> members; // dependents
  // Failed dependencies, and when they failed (steady ns).
  std::unordered_map<std::string, std::int64_t> down;
  // Dependents held back: the dependency they wait for, and when it failed.
  std::unordered_map<std::string, std::string> waiting;
  std::unordered_map<std::string, std::int64_t> down_since;
  std::deque<std::string> to_restart; // dependents whose dependencies are up
  bool restarting = false;            // one of them is being restarted
  // -- in a cluster
  caf::actor cluster; // hears of the dependencies that fail and recover here
  config::cluster_layout layout;
  std::set<std::string> here; // the placed units the cluster runs here
  // Dependencies down on another node (no incident of theirs here).
  std::set<std::string> remote;
};

class coordinator_actor : public caf::stateful_actor<coordinator_state> {
public:
  coordinator_actor(caf::actor_config& cfg, coordinator_options opts)
      : caf::stateful_actor<coordinator_state>(cfg) {
    state.opts = std::move(opts);
    use(state.opts.config);
  }

  caf::behavior make_behavior() override {
    log_stray_messages(this);
    set_down_handler([this](caf::down_msg& dm) {
      for (auto& [path, h] : state.active)
        if (h.playbook && h.playbook.address() == dm.source) {
          if (dm.reason) {
            auto p = path; // ended() erases it
            note(closed_note(p, runtime::incident_status::failed,
                             "its playbook ended: " + to_string(dm.reason)));
            ended(p, h.id, runtime::incident_status::failed,
                  "its playbook ended");
          }
          return;
        }
    });
    return {
      [this](const failure_report& f) { on_failure(f); },
      [this](reload_atom, const config_update& c) {
        use(c.config); // `grace reload`
      },
      [this](register_atom, const std::string& path, caf::actor handle,
             caf::actor supervisor) {
        state.members[path] = member{std::move(handle), std::move(supervisor)};
      },
      [this](dep_down_atom, const std::string& path, config::failure_mode mode,
             const std::string& detail, std::int64_t at_ns) {
        tell_cluster_down(path, mode, detail);
        dependency_down(path, mode, detail, at_ns);
      },
      [this](dep_up_atom, const std::string& path) {
        tell_cluster_up(path);
        dependency_up(path);
      },
      // In a cluster: the cluster actor, which hears of the dependencies
      // that fail and recover here, and tells of those on other nodes.
      [this](register_atom, caf::actor cluster) {
        state.cluster = std::move(cluster);
      },
      [this](here_atom, const std::string& unit, bool here) {
        if (here)
          state.here.insert(unit);
        else
          state.here.erase(unit);
      },
      [this](dep_down_atom, const std::string& path, config::failure_mode mode,
             const std::string& detail, std::int64_t at_ns,
             remote_atom) { dependency_down(path, mode, detail, at_ns, true); },
      [this](dep_up_atom, const std::string& path, remote_atom) {
        dependency_up(path);
      },
      [this](done_atom, const std::string& path, std::uint64_t id,
             runtime::incident_status outcome,
             const std::string& why) { ended(path, id, outcome, why); },
    };
  }

private:
  // Takes the playbooks and `on:` maps of `cfg` (may be null).
  void use(std::shared_ptr<const config::grace_config> cfg) {
    state.opts.config = std::move(cfg);
    state.children.clear();
    state.layout = state.opts.config ? config::layout_of(*state.opts.config)
                                     : config::cluster_layout{};
    if (state.opts.config)
      config::for_each_child(
        state.opts.config->root,
        [this](const config::child_spec& c) { state.children[c.path] = &c; });
  }

  template <class Note>
  void note(Note n) {
    send_note(this, state.opts.tracker, *state.opts.time, std::move(n));
  }

  // The playbook that heals `mode` for `path`: its `on:` entry, else the
  // mode's default; built-ins get this node's verification deadline.
  std::optional<playbooks::plan> plan_for(const std::string& path,
                                          config::failure_mode mode) {
    static const config::grace_config none;
    auto it = state.children.find(path);
    return playbooks::plan_for(
      state.opts.config ? *state.opts.config : none,
      it == state.children.end() ? nullptr : it->second, mode,
      {state.opts.verify_within, state.opts.restart_within});
  }

  void on_failure(const failure_report& f) {
    if (auto w = state.waiting.find(f.path); w != state.waiting.end()) {
      // Its dependency is down: counted on its incident (caused by the
      // dependency's), healed when the dependency is back.
      auto n = failed_note(f.path, f.what, f.at_ns);
      if (!state.remote.count(w->second))
        n.caused_by = w->second;
      n.verified = true;
      note(std::move(n));
      if (f.child)
        send(f.child, blocked_atom::value,
             std::string{"its dependency " + w->second + " is down"});
      return;
    }
    auto plan = plan_for(f.path, f.what.mode);
    // Classify: the reporter's mode, its severity (else the tracker applies
    // the component's overrides or the mode's default).
    auto n = failed_note(f.path, f.what, f.at_ns);
    n.severity = f.severity;
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
      snap.state = f.state;
      snap.pid = f.what.pid;
      snap.status_text = f.status_text;
      note(std::move(snap));
    }
    if (!plan) {
      // Can't happen: the loader checks every `on:` entry.
      note(closed_note(f.path, runtime::incident_status::failed,
                       "no playbook " + n.playbook));
      return;
    }
    spdlog::warn("{}: {}; healing it with {}", f.path, f.what.detail,
                 plan->name);
    playbook_job job;
    job.id = id;
    job.path = f.path;
    job.what = f.what;
    job.state = f.state;
    job.plan = std::move(*plan);
    job.child = f.child;
    job.supervisor = f.supervisor;
    job.tracker = state.opts.tracker;
    job.time = state.opts.time;
    job.config = state.opts.config;
    job.io = state.opts.io;
    auto actor = spawn_playbook(this, std::move(job));
    state.active[f.path]
      = healing{id, f.child, actor, f.supervisor, f.probe.empty()};
    if (state.opts.topology && state.opts.topology->has_dependents(f.path)) {
      tell_cluster_down(f.path, f.what.mode, f.what.detail);
      dependency_down(f.path, f.what.mode, f.what.detail, f.at_ns);
    }
  }

  void ended(const std::string& path, std::uint64_t id,
             runtime::incident_status outcome, const std::string& why) {
    auto it = state.active.find(path);
    if (it == state.active.end() || it->second.id != id)
      return;
    auto h = std::move(it->second);
    state.active.erase(it);
    auto resolved = outcome == runtime::incident_status::resolved;
    if (resolved && state.down.count(path)) {
      tell_cluster_up(path);
      dependency_up(path);
    }
    if (outcome == runtime::incident_status::failed && h.exit && h.supervisor) {
      // An exit its playbook could not heal: back to the supervisor's
      // rules, a restart that counts toward its intensity.
      request(h.supervisor, state.opts.restart_within, restart_atom::value,
              path)
        .then([](bool) {},
              [path](caf::error& err) {
                spdlog::error("{}: not restarted: {}", path, to_string(err));
              });
    }
    auto child = h.child;
    if (resolved || !child)
      return;
    // Its monitors start counting afresh: a component still sick raises a
    // new failure (and its restarts count toward the intensity). A start
    // held back by a held port is over: the supervisor decides.
    send(child, unpause_atom::value);
    send(child, blocked_atom::value, why);
  }

  // -- topology ---------------------------------------------------------------

  // In a cluster, a dependency that failed or recovered here: the cluster
  // actor tells the nodes whose components depend on it.
  void tell_cluster_down(const std::string& path, config::failure_mode mode,
                         const std::string& detail) {
    if (state.cluster && state.layout.shared.count(path))
      send(state.cluster, dep_down_atom::value, path, mode, detail);
  }

  void tell_cluster_up(const std::string& path) {
    if (state.cluster && state.layout.shared.count(path))
      send(state.cluster, dep_up_atom::value, path);
  }

  // Whether component `x` runs on this node: it is placed nowhere, or its
  // unit is placed here.
  bool runs_here(const std::string& x) const {
    auto it = state.layout.unit.find(x);
    return it == state.layout.unit.end() || it->second.empty()
           || state.here.count(it->second);
  }

  // `path` failed (`remote`: on another node of the cluster): what depends
  // on it here waits for it, each with an incident caused by its one.
  void dependency_down(const std::string& path, config::failure_mode mode,
                       const std::string& detail, std::int64_t at_ns,
                       bool remote = false) {
    auto& topo = state.opts.topology;
    if (!topo || !state.down.emplace(path, at_ns).second)
      return;
    if (remote)
      state.remote.insert(path);
    for (auto& x : topo->dependents(path)) {
      auto m = state.members.find(x);
      if (m == state.members.end() || state.waiting.count(x) || !runs_here(x))
        continue;
      state.waiting[x] = path;
      state.down_since[x] = state.down[path];
      auto n = failed_note(x, config::failure_mode::dependency_failed,
                           path + " is down (" + std::string{to_string(mode)}
                             + ": " + detail + ")");
      if (!remote)
        n.caused_by = path;
      n.playbook = "restart_dependents";
      n.verified = true;
      note(std::move(n));
      send(m->second.supervisor, await_dep_atom::value, x, true);
    }
    spdlog::warn("{} is down: its dependents wait for it", path);
  }

  // `path` is ready again: its dependents whose dependencies are all up are
  // restarted once each, in dependency order.
  void dependency_up(const std::string& path) {
    auto& topo = state.opts.topology;
    if (!topo || !state.down.erase(path))
      return;
    state.remote.erase(path);
    for (auto& x : topo->dependents(path))
      if (state.waiting.count(x)
          && std::find(state.to_restart.begin(), state.to_restart.end(), x)
               == state.to_restart.end())
        state.to_restart.push_back(x);
    restart_next();
  }

  bool dependencies_up(const std::string& x) const {
    for (auto& d : state.opts.topology->dependencies(x))
      if (state.down.count(d))
        return false;
    return true;
  }

  void restart_next() {
    while (!state.restarting && !state.to_restart.empty()) {
      auto x = std::move(state.to_restart.front());
      state.to_restart.pop_front();
      auto m = state.members.find(x);
      if (!state.waiting.count(x) || m == state.members.end()
          || !dependencies_up(x))
        continue; // still waiting for another dependency
      state.restarting = true;
      auto cause = state.waiting[x];
      auto since = state.down_since[x];
      auto finish = [this, x](bool ok, const std::string& why) {
        state.waiting.erase(x);
        state.down_since.erase(x);
        state.restarting = false;
        if (ok) {
          auto n = recovered_note(x, "ready and every probe passing");
          n.verified = true;
          note(std::move(n));
          spdlog::info("{}: restarted after its dependency, verified", x);
        } else {
          note(closed_note(x, runtime::incident_status::failed, why));
          spdlog::error("{}: {}", x, why);
          if (auto mm = state.members.find(x); mm != state.members.end())
            send(mm->second.supervisor, await_dep_atom::value, x, false);
        }
        restart_next();
      };
      spdlog::info("{}: restarting it: {} is back", x, cause);
      request(m->second.supervisor, state.opts.restart_within,
              restart_atom::value, x, since)
        .then(
          [this, x, cause, finish, handle = m->second.handle](bool restarted) {
            auto a = action_note(
              x, "restart",
              restarted ? "after " + cause + " recovered"
                        : "restarted by its supervisor's strategy after "
                            + cause + " failed: not again");
            a.attempt = 1;
            note(std::move(a));
            if (!state.children.count(x))
              return finish(true, {}); // a supervisor: ready is its proof
            request(
              handle, state.opts.verify_within + std::chrono::seconds{2},
              verify_atom::value,
              static_cast<std::uint64_t>(state.opts.verify_within.count()))
              .then(
                [finish](bool ok, const std::string& why) {
                  finish(ok, "verification failed: " + why);
                },
                [finish](caf::error& err) {
                  finish(false, "verification failed: " + to_string(err));
                });
          },
          [finish](caf::error& err) {
            finish(false, "the restart did not complete: " + to_string(err));
          });
    }
  }
};

} // namespace

caf::actor spawn_coordinator(caf::actor_system& sys, coordinator_options opts) {
  return sys.spawn<coordinator_actor>(std::move(opts));
}

} // namespace grace::actors
