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

  void note_action(const std::string& path, std::string step,
                   std::string detail, bool ok = true) {
    incident_note n;
    n.kind = note_kind::action;
    n.path = path;
    n.step = std::move(step);
    n.detail = std::move(detail);
    n.ok = ok;
    n.at_ns = steady_ns();
    note(std::move(n));
  }

  void on_failure(const failure_report& f) {
    // Classify: the probe's mode, its severity (else the tracker applies
    // the component's overrides or the mode's default).
    incident_note n;
    n.kind = note_kind::failed;
    n.path = f.path;
    n.mode = f.mode;
    n.severity = f.severity;
    n.detail = f.detail;
    n.output = f.output;
    n.at_ns = f.at_ns;
    n.failed_ns = f.failed_ns;
    n.verified = true;
    note(n); // opens it, or counts on the one open
    if (state.active.count(f.path))
      return; // already healing: counted, not remediated twice
    auto id = ++state.next_id;
    state.active[f.path] = healing{id, f.child, f.supervisor};
    incident_note snap;
    snap.kind = note_kind::action;
    snap.path = f.path;
    snap.step = "snapshot";
    snap.detail = "before the restart";
    snap.status_text = f.status_text;
    snap.at_ns = steady_ns();
    note(std::move(snap));
    note_action(f.path, "restart", "through its supervisor");
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
          incident_note n;
          n.kind = note_kind::recovered;
          n.path = path;
          n.step = "ready and every probe passing";
          n.verified = true;
          n.at_ns = steady_ns();
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
    incident_note n;
    n.kind = note_kind::closed;
    n.path = path;
    n.status = "failed";
    n.detail = why;
    n.at_ns = steady_ns();
    note(std::move(n));
  }
};

} // namespace

caf::actor spawn_coordinator(caf::actor_system& sys, coordinator_options opts) {
  return sys.spawn<coordinator_actor>(std::move(opts));
}

} // namespace grace::actors
