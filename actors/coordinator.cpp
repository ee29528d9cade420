#include "actors/coordinator.hpp"

#include <unordered_map>

#include <spdlog/spdlog.h>

#include "actors/messages.hpp"
#include "config/units.hpp"

namespace grace::actors {

namespace {

struct healing {
  std::uint64_t id = 0; // which healing of this component
  caf::actor child;
  caf::actor supervisor;
};

struct coordinator_state {
  static inline const char* name = "grace.coordinator";
  coordinator_options opts;
  std::unordered_map<std::string, healing> active; // component -> healing
  std::uint64_t next_id = 0;
};

class coordinator_actor : public caf::stateful_actor<coordinator_state> {
public:
  coordinator_actor(caf::actor_config& cfg, coordinator_options opts)
      : caf::stateful_actor<coordinator_state>(cfg) {
    state.opts = std::move(opts);
  }

  caf::behavior make_behavior() override {
    return {
      [this](const failure_report& f) { on_failure(f); },
    };
  }

private:
  void note(incident_note n) {
    if (state.opts.tracker)
      send(state.opts.tracker, std::move(n));
  }

  void on_failure(const failure_report& f) {
    // Classify: the probe's mode, its severity (else the tracker applies
    // the component's overrides or the mode's default).
    auto n = failed_note(f.path, f.mode, f.detail, f.at_ns);
    n.severity = f.severity;
    n.output = f.output;
    n.failed_ns = f.failed_ns;
    n.verified = true;
    note(n); // opens it, or counts on the one open
    if (state.active.count(f.path))
      return; // already healing: counted, not remediated twice
    auto id = ++state.next_id;
    state.active[f.path] = healing{id, f.child, f.supervisor};
    auto snap = action_note(f.path, "snapshot", "before the restart");
    snap.kind = note_kind::snapshot;
    snap.status_text = f.status_text;
    note(std::move(snap));
    note(action_note(f.path, "restart", "through its supervisor"));
    spdlog::warn("{}: restarting it ({})", f.path, f.detail);
    request(f.supervisor, state.opts.restart_within, restart_atom::value,
            f.path)
      .then([this, path = f.path, id](bool) { verify(path, id); },
            [this, path = f.path, id](caf::error& err) {
              fail(path, id, "the restart did not complete: " + to_string(err));
            });
  }

  void verify(const std::string& path, std::uint64_t id) {
    auto it = state.active.find(path);
    if (it == state.active.end() || it->second.id != id)
      return;
    request(it->second.child,
            state.opts.verify_within + std::chrono::seconds{2},
            verify_atom::value,
            static_cast<std::uint64_t>(state.opts.verify_within.count()))
      .then(
        [this, path, id](bool ok, const std::string& why) {
          if (!ok)
            return fail(path, id, "verification failed: " + why);
          auto at = state.active.find(path);
          if (at == state.active.end() || at->second.id != id)
            return;
          state.active.erase(at);
          auto n = recovered_note(path, "ready and every probe passing");
          n.verified = true;
          note(std::move(n));
          spdlog::info("{}: healed and verified", path);
        },
        [this, path, id](caf::error& err) {
          fail(path, id,
               "verification failed: "
                 + (err == caf::sec::request_timeout
                      ? "not ready with every probe passing within "
                          + config::format_duration(state.opts.verify_within)
                      : to_string(err)));
        });
  }

  void fail(const std::string& path, std::uint64_t id, const std::string& why) {
    auto it = state.active.find(path);
    if (it == state.active.end() || it->second.id != id)
      return;
    // Its monitors start counting afresh: a component still sick raises a
    // new failure (and its restarts count toward the intensity).
    send(it->second.child, unpause_atom::value);
    state.active.erase(it);
    spdlog::error("{}: {}", path, why);
    note(closed_note(path, "failed", why));
  }
};

} // namespace

caf::actor spawn_coordinator(caf::actor_system& sys, coordinator_options opts) {
  return sys.spawn<coordinator_actor>(std::move(opts));
}

} // namespace grace::actors
