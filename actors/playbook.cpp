#include "actors/playbook.hpp"

#include <csignal>
#include <cstring>

#include <spdlog/spdlog.h>

#include "actors/child.hpp"
#include "actors/launch.hpp"
#include "actors/messages.hpp"
#include "config/units.hpp"
#include "playbooks/run.hpp"
#include "runtime/io_loop.hpp"
#include "runtime/probes.hpp"

extern char** environ;

namespace grace::actors {

namespace {

using step_kind = config::step_spec::kind;
using wake_atom = caf::atom_constant<caf::atom("wake")>;
using ran_atom = caf::atom_constant<caf::atom("ran")>;

std::chrono::milliseconds ms(config::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d);
}

std::string signal_name(int sig) {
  if (auto* name = sigabbrev_np(sig))
    return std::string{"SIG"} + name;
  return std::to_string(sig);
}

struct playbook_state {
  static inline const char* name = "grace.playbook";
  playbook_job job;   // its plan is run.current's first
  playbooks::run run; // the plan under way, its step and attempt
  caf::actor coordinator;
  std::uint64_t gen = 0; // of the step under way: stale answers are ignored
  std::string incident_id;
  std::string incident_json;
  bool finished = false;
};

class playbook_actor : public caf::stateful_actor<playbook_state> {
public:
  playbook_actor(caf::actor_config& cfg, playbook_job job,
                 caf::actor coordinator)
      : caf::stateful_actor<playbook_state>(cfg) {
    state.job = std::move(job);
    state.run.current = std::move(state.job.plan);
    state.coordinator = std::move(coordinator);
  }

  caf::behavior make_behavior() override {
    log_stray_messages(this);
    send(this, start_atom::value);
    return {
      [this](start_atom) { begin(); },
      [this](wake_atom, std::uint64_t gen) {
        if (gen == state.gen)
          step_ok("waited " + config::format_duration(current().wait));
      },
      [this](ran_atom, std::uint64_t gen, bool ok, const std::string& why,
             const std::string& output) {
        if (gen != state.gen)
          return;
        if (ok)
          step_ok(why, output);
        else
          step_failed(why, output);
      },
    };
  }

private:
  const config::step_spec& current() const {
    return state.run.current.steps[state.run.step];
  }

  void note(incident_note n) {
    send_note(this, state.job.tracker, *state.job.time, std::move(n));
  }

  // Records step `step` as an action of the incident.
  void record(const std::string& step, bool ok, const std::string& detail,
              note_fields fields = {}, const std::string& playbook = {},
              int attempt = 0) {
    auto n = action_note(state.job.path, step, detail);
    n.ok = ok;
    n.attempt = attempt > 0 ? attempt : state.run.attempt;
    n.fields = std::move(fields);
    n.playbook = playbook;
    note(std::move(n));
  }

  void begin() {
    auto& p = state.run.current;
    spdlog::info("{}: playbook {} ({} steps, attempt {} of {})", state.job.path,
                 p.name, p.steps.size(), state.run.attempt, p.max_attempts);
    if (p.name == "escalate" && p.steps.empty())
      return escalate("the playbook for "
                      + std::string{to_string(state.job.what.mode)}
                      + " is escalate");
    state.run.step = 0;
    run_step();
  }

  void run_step() {
    auto& p = state.run.current;
    if (state.run.step >= p.steps.size())
      return held_unverified(); // a plan without steps
    auto& s = current();
    auto gen = ++state.gen;
    auto timeout = ms(s.timeout);
    auto& job = state.job;
    auto on_error = [this, gen](caf::error& err) { step_error(gen, err); };
    switch (s.what) {
      case step_kind::snapshot: {
        auto n
          = action_note(job.path, "snapshot", "before " + p.name, job.what.pid);
        n.kind = note_kind::snapshot;
        n.state = job.state;
        n.attempt = state.run.attempt;
        note(std::move(n));
        return next();
      }
      case step_kind::restart:
        return ask_supervisor(restart_atom::value, "through its supervisor");
      case step_kind::stop:
        return ask_supervisor(stop_atom::value, "stopped and held");
      case step_kind::start:
        return ask_supervisor(start_atom::value, "started");
      case step_kind::signal:
        request(job.child, timeout, signal_atom::value, s.signal)
          .then(
            [this, gen, sig = s.signal](bool ok, const std::string& why) {
              if (gen != state.gen)
                return;
              if (ok)
                step_ok(signal_name(sig) + " " + why);
              else
                step_failed(signal_name(sig) + ": " + why);
            },
            on_error);
        return;
      case step_kind::wait:
        delayed_send(this, s.wait, wake_atom::value, gen);
        return;
      case step_kind::exec:
        with_incident([this, gen] { run_exec(gen); });
        return;
      case step_kind::free_port:
        request(job.child, timeout, free_port_atom::value)
          .then(
            [this, gen](bool ok, const std::string& why, note_fields f) {
              if (gen != state.gen)
                return;
              if (ok)
                step_ok(why, {}, std::move(f));
              else
                step_failed(why, {}, std::move(f));
            },
            on_error);
        return;
      case step_kind::notify:
        // A dead webhook never blocks healing: sent on the side, recorded
        // when it answers (or times out).
        with_incident([this, step = s] { run_notify(step); });
        return next();
      case step_kind::verify:
        request(job.child, ms(s.within) + std::chrono::seconds{2},
                verify_atom::value,
                static_cast<std::uint64_t>(ms(s.within).count()))
          .then(
            [this, gen](bool ok, const std::string& why) {
              if (gen != state.gen)
                return;
              if (ok)
                verified();
              else
                step_failed("verification failed: " + why);
            },
            [this, gen](caf::error& err) {
              if (gen != state.gen)
                return;
              step_failed("verification failed: "
                          + (err == caf::sec::request_timeout
                               ? "not ready with every probe passing within "
                                   + config::format_duration(current().within)
                               : to_string(err)));
            });
        return;
    }
  }

  // The step under way asks the supervisor to `verb` the component (its
  // restart, stop or start); `done` says what happened, for the action.
  template <class Verb>
  void ask_supervisor(Verb verb, const char* done) {
    auto gen = state.gen;
    request(state.job.supervisor, ms(current().timeout), verb, state.job.path)
      .then(
        [this, gen, done](bool) {
          if (gen == state.gen)
            step_ok(done);
        },
        [this, gen](caf::error& err) { step_error(gen, err); });
  }

  // A step's request failed (or timed out).
  void step_error(std::uint64_t gen, const caf::error& err) {
    if (gen == state.gen)
      step_failed(err == caf::sec::request_timeout
                    ? "timed out after "
                        + config::format_duration(current().timeout)
                    : to_string(err));
  }

  // Runs `then` once the incident's id and JSON are known (fetched once).
  template <class F>
  void with_incident(F then) {
    if (!state.incident_id.empty() || !state.job.tracker) {
      then();
      return;
    }
    request(state.job.tracker, std::chrono::seconds{5}, get_atom::value,
            state.job.path)
      .then(
        [this, then](const std::string& id, const std::string& json) {
          state.incident_id = id;
          state.incident_json = json;
          then();
        },
        [then](caf::error&) { then(); });
  }

  // The environment of exec steps and hook commands.
  runtime::spawn_options command(const std::vector<std::string>& argv) {
    runtime::spawn_options o;
    o.argv = argv;
    for (auto** e = environ; e && *e; ++e)
      o.env.emplace_back(*e);
    o.env.push_back("GRACE_INCIDENT_ID=" + state.incident_id);
    o.env.push_back("GRACE_COMPONENT=" + state.job.path);
    o.env.push_back("GRACE_FAILURE_MODE="
                    + std::string{to_string(state.job.what.mode)});
    return o;
  }

  // An exec step runs as its component does (launch.hpp): its user,
  // directory and environment, with the incident's variables; without the
  // component's spec (a path no longer configured), as a hook does.
  runtime::spawn_options step_command(const std::vector<std::string>& argv) {
    const config::child_spec* spec = nullptr;
    if (state.job.config)
      config::for_each_child(state.job.config->root, [&](auto& c) {
        if (c.path == state.job.path)
          spec = &c;
      });
    if (!spec)
      return command(argv);
    auto o = base_options(*spec);
    o.argv = argv;
    o.executable.clear();
    o.limits.clear(); // the component's, not its remedy's
    o.env.push_back("GRACE_INCIDENT_ID=" + state.incident_id);
    o.env.push_back("GRACE_FAILURE_MODE="
                    + std::string{to_string(state.job.what.mode)});
    return o;
  }

  void run_exec(std::uint64_t gen) {
    if (gen != state.gen)
      return;
    auto opts = step_command(current().argv);
    auto timeout = ms(current().timeout);
    auto self = caf::actor_cast<caf::actor>(this);
    state.job.io->post([io = state.job.io, opts = std::move(opts), timeout,
                        self, gen]() mutable {
      runtime::probe_exec(
        *io, std::move(opts), timeout, [self, gen](runtime::probe_result r) {
          caf::anon_send(self, ran_atom::value, gen, r.ok,
                         r.ok ? std::string{"exit code 0"} : r.detail,
                         r.output);
        });
    });
  }

  void run_notify(const config::step_spec& s) {
    auto tracker = state.job.tracker;
    auto path = state.job.path;
    auto attempt = state.run.attempt;
    auto where = s.url.empty() ? std::string{"hook"} : s.url;
    auto done = [tracker, path, attempt, where,
                 time = state.job.time](runtime::probe_result r) {
      if (!r.ok)
        spdlog::warn("{}: notify {} failed: {}", path, where, r.detail);
      if (!tracker)
        return;
      auto n
        = action_note(path, "notify", r.ok ? where : where + ": " + r.detail, 0,
                      time->steady_ns());
      n.ok = r.ok;
      n.attempt = attempt;
      caf::anon_send(tracker, std::move(n));
    };
    auto timeout = ms(s.timeout);
    auto* io = state.job.io;
    if (!s.url.empty()) {
      io->post([io, host = s.host, port = s.port, target = s.target,
                json = state.incident_json, timeout, done] {
        runtime::http_post(*io, host, port, target, json, timeout, done);
      });
      return;
    }
    auto opts = command(s.argv);
    opts.env.push_back("GRACE_INCIDENT=" + state.incident_json);
    io->post([io, opts = std::move(opts), timeout, done]() mutable {
      runtime::probe_exec(*io, std::move(opts), timeout, done);
    });
  }

  void next() {
    if (std::holds_alternative<playbooks::after::held>(
          playbooks::step_ok(state.run)))
      return held_unverified();
    run_step();
  }

  void step_ok(const std::string& detail, const std::string& output = {},
               note_fields fields = {}) {
    auto& s = current();
    if (!output.empty())
      fields.texts.emplace_back("output", output.substr(0, 4096));
    record(std::string{to_string(s.what)}, true, detail, std::move(fields));
    next();
  }

  void step_failed(const std::string& why, const std::string& output = {},
                   note_fields fields = {}) {
    auto& s = current();
    ++state.gen; // answers still on their way are stale now
    if (!output.empty())
      fields.texts.emplace_back("output", output.substr(0, 4096));
    record(std::string{to_string(s.what)}, false, why, std::move(fields));
    auto failed_plan = state.run.current.name;
    auto failed_attempt = state.run.attempt;
    spdlog::warn("{}: playbook {} step {} failed (attempt {} of {}): {}",
                 state.job.path, failed_plan, to_string(s.what), failed_attempt,
                 state.run.current.max_attempts, why);
    static const config::grace_config none;
    std::string fallback;
    auto after = playbooks::step_failed(
      state.run, why, state.job.config ? *state.job.config : none, &fallback);
    if (auto* up = std::get_if<playbooks::after::escalate>(&after))
      return escalate(up->why);
    if (auto* no = std::get_if<playbooks::after::failed>(&after))
      return finish_failed(no->why);
    if (fallback.empty())
      return run_step(); // the plan again: its next attempt
    spdlog::warn("{}: {} failed; on_failure: {}", state.job.path, failed_plan,
                 fallback);
    record("on_failure", true, failed_plan + " failed: " + why, {}, fallback,
           failed_attempt);
    begin();
  }

  void verified() {
    auto n = recovered_note(state.job.path, "ready and every probe passing");
    n.verified = true;
    note(std::move(n));
    spdlog::info("{}: healed by {} and verified", state.job.path,
                 state.run.current.name);
    done(runtime::incident_status::resolved, {});
  }

  // A plan without a verification (safe_hold) ends held.
  void held_unverified() {
    hold("safe_hold: stopped and held until started again");
  }

  void hold(const std::string& why) {
    note(closed_note(state.job.path, runtime::incident_status::held, why));
    spdlog::warn("{}: {}", state.job.path, why);
    done(runtime::incident_status::held, why);
  }

  void escalate(const std::string& why) {
    record("escalate", true, why);
    send(state.job.supervisor, escalate_atom::value, state.job.path, why);
    done(runtime::incident_status::escalated, why);
  }

  void finish_failed(const std::string& why) {
    spdlog::error("{}: {}", state.job.path, why);
    note(closed_note(state.job.path, runtime::incident_status::failed, why));
    done(runtime::incident_status::failed, why);
  }

  // Tells the coordinator how it ended: resolved, failed, held or
  // escalated (and why not resolved).
  void done(runtime::incident_status outcome, const std::string& why) {
    if (state.finished)
      return;
    state.finished = true;
    send(state.coordinator, done_atom::value, state.job.path, state.job.id,
         outcome, why);
    quit();
  }
};

} // namespace

caf::actor spawn_playbook(caf::event_based_actor* coordinator,
                          playbook_job job) {
  return coordinator->spawn<playbook_actor, caf::monitored>(
    std::move(job), caf::actor_cast<caf::actor>(coordinator));
}

} // namespace grace::actors
