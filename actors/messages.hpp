// Every atom and message shape the actors exchange (CAF 0.17: atom_constant
// plus inspect() plus add_message_type). Included by actor .cpp files and
// actor tests only, never by a header: it pulls in CAF.
//
// Protocol between a supervisor and each of its children (a process actor
// or a nested supervisor, alike; permits go to process actors only):
//
//   supervisor --start_atom--> child     start (spawn / start subtree)
//   supervisor --stop_atom---> child     stop (SIGTERM, then SIGKILL)
//   supervisor --permit_atom-> child     may restart itself at once when it
//                                        exits (the fast path; see below)
//   supervisor --revoke_atom-> child     withdraws the permit
//   child --child_report--> supervisor   started, ready, exited,
//                                        spawn_failed, stopped, held
//
// The fast path. When the supervisor already knows what it would do if a
// running child exited - restart that child alone, at once, within its
// restart intensity - it says so in advance with a permit. The I/O thread
// that sees the exit then spawns the replacement immediately and the child
// reports `exited` with `restarted` set; the supervisor records the restart
// as if it had ordered it. A permit is used once, and withdrawn whenever the
// supervisor's decision could differ (any plan, any stop).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <caf/all.hpp>

#include "actors/failure.hpp"
#include "config/schema.hpp"
#include "runtime/control_protocol.hpp"
#include "runtime/errors.hpp"
#include "runtime/incident.hpp"

namespace grace::actors {

using start_atom = caf::atom_constant<caf::atom("start")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using spawned_atom = caf::atom_constant<caf::atom("spawned")>;
using exited_atom = caf::atom_constant<caf::atom("exited")>;
using ready_atom = caf::atom_constant<caf::atom("ready")>;
using resume_atom = caf::atom_constant<caf::atom("resume")>;
using permit_atom = caf::atom_constant<caf::atom("permit")>;
using revoke_atom = caf::atom_constant<caf::atom("revoke")>;
using respawned_atom = caf::atom_constant<caf::atom("respawned")>;
using restart_atom = caf::atom_constant<caf::atom("restart")>;
using verify_atom = caf::atom_constant<caf::atom("verify")>;
using check_atom = caf::atom_constant<caf::atom("check")>;
using pause_atom = caf::atom_constant<caf::atom("pause")>;
using unpause_atom = caf::atom_constant<caf::atom("unpause")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using watchdog_atom = caf::atom_constant<caf::atom("watchdog")>;
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using value_atom = caf::atom_constant<caf::atom("value")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
using free_port_atom = caf::atom_constant<caf::atom("freeport")>;
using signal_atom = caf::atom_constant<caf::atom("signal")>;
using escalate_atom = caf::atom_constant<caf::atom("escalate")>;
using done_atom = caf::atom_constant<caf::atom("done")>;
using get_atom = caf::atom_constant<caf::atom("get")>;
using blocked_atom = caf::atom_constant<caf::atom("blocked")>;
using dep_down_atom = caf::atom_constant<caf::atom("depdown")>;
using dep_up_atom = caf::atom_constant<caf::atom("depup")>;
using register_atom = caf::atom_constant<caf::atom("register")>;
using await_dep_atom = caf::atom_constant<caf::atom("awaitdep")>;
using op_atom = caf::atom_constant<caf::atom("op")>;
using event_atom = caf::atom_constant<caf::atom("event")>;
using health_atom = caf::atom_constant<caf::atom("health")>;
using reload_atom = caf::atom_constant<caf::atom("reload")>;

/// What happened to a child.
enum class report_kind : std::uint8_t {
  started,      // the process runs (pid set); not ready yet
  ready,        // its readiness rule passed
  exited,       // it ended on its own (or a nested supervisor gave up)
  spawn_failed, // it could not be started (detail says why)
  stopped,      // it ended because its supervisor stopped it
  held,         // a nested supervisor gave up and holds its subtree stopped
};

std::string to_string(report_kind x);

/// A child's report to its supervisor.
struct child_report {
  std::string path;
  report_kind kind = report_kind::started;
  std::int32_t pid = 0;
  std::int32_t code = 0;   // exit code, if it exited
  std::int32_t signal = 0; // the signal that killed it, or 0
  /// Why, in words: "killed by SIGSEGV", "ready_timeout", "cannot execute".
  std::string detail;
  /// The failure mode, for exits and spawn failures: crashed, exited,
  /// spawn_failed, sandbox_failed, oom_killed, port_in_use, ready_timeout,
  /// restart_intensity_exceeded.
  config::failure_mode mode = config::failure_mode::exited;
  /// Steady-clock nanoseconds when grace observed it.
  std::int64_t at_ns = 0;
  /// An exit the child already recovered from with its restart permit: the
  /// replacement runs (pid), the supervisor only records the restart.
  bool restarted = false;
  /// With `restarted`: the pid that exited (`pid` is the replacement's).
  std::int32_t old_pid = 0;
  /// Its incident is on record already (the coordinator opened and closed
  /// it): the supervisor applies its rules without noting it again.
  bool noted = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, child_report& x) {
  return f(caf::meta::type_name("grace.child_report"), x.path, x.kind, x.pid,
           x.code, x.signal, x.detail, x.mode, x.at_ns, x.restarted, x.old_pid,
           x.noted);
}

/// Named values for an incident's `detail` or an action's fields, in order:
/// numbers first, then texts (`port`, `holder_pid`, `holder_cmd`, ...).
struct note_fields {
  std::vector<std::pair<std::string, std::int64_t>> numbers;
  std::vector<std::pair<std::string, std::string>> texts;

  bool empty() const noexcept { return numbers.empty() && texts.empty(); }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, note_fields& x) {
  return f(caf::meta::type_name("grace.note_fields"), x.numbers, x.texts);
}

/// A severity the reporter chose; none: the component's override for the
/// mode, else the mode's default.
using severity_choice = caf::optional<config::severity>;

/// What a supervisor (or the node) tells the tracker about an incident.
/// The tracker keys incidents by component: one open per component.
enum class note_kind : std::uint8_t {
  failed,    // the component failed (opens an incident, or counts on it)
  action,    // something was done about it (restart, start, ...)
  snapshot,  // the component is about to be acted on: snapshot it
  recovered, // it is ready again: resolved
  closed,    // it will not recover here: failed, escalated, held, abandoned
};

/// A note to the tracker.
struct incident_note {
  note_kind kind = note_kind::failed;
  std::string path;
  config::failure_mode mode = config::failure_mode::exited; // failed
  std::string step; // action: restart, start, stop, ...; recovered: the
                    // readiness rule that passed
  /// closed: failed, escalated, held or abandoned.
  runtime::incident_status status = runtime::incident_status::failed;
  instance_state state = instance_state::exited; // snapshot: as it was
  severity_choice severity; // failed, closed: as classified
  /// failed: opened by the coordinator, resolved only by its verification;
  /// recovered: that verification.
  bool verified = false;
  bool ok = true;       // action: it worked
  bool subtree = false; // closed: every open incident under `path` too
  std::int32_t pid = 0;
  std::int32_t code = 0;
  std::int32_t signal = 0;
  std::string detail;         // why, in words
  std::string output;         // failed: what a failing check printed
  std::string status_text;    // action snapshot: its last sd_notify STATUS=
  std::int64_t at_ns = 0;     // steady clock: when it happened
  std::int64_t failed_ns = 0; // failed: when the failure itself happened,
                              // if known (else 0)
  std::string playbook;  // failed: the playbook that heals it (else restart);
                         // action: the playbook now running (on_failure)
  int attempt = 0;       // action: the playbook's attempt (1, 2, ...)
  note_fields fields;    // failed: into `detail`; action: its fields
  std::string caused_by; // failed: the component whose incident caused it
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, incident_note& x) {
  return f(caf::meta::type_name("grace.incident_note"), x.kind, x.path, x.mode,
           x.step, x.status, x.state, x.severity, x.verified, x.ok, x.subtree,
           x.pid, x.code, x.signal, x.detail, x.output, x.status_text, x.at_ns,
           x.failed_ns, x.playbook, x.attempt, x.fields, x.caused_by);
}

/// What one probe check found (monitor <- I/O thread).
struct probe_outcome {
  std::uint64_t run = 0; // which check
  bool ok = false;
  config::failure_mode mode = config::failure_mode::check_failed;
  std::string detail;
  std::string output;
  bool has_value = false;
  double value = 0;
  std::int64_t started_ns = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, probe_outcome& x) {
  return f(caf::meta::type_name("grace.probe_outcome"), x.run, x.ok, x.mode,
           x.detail, x.output, x.has_value, x.value, x.started_ns);
}

/// A probe's failure, raised by its monitor to the coordinator.
struct failure_report {
  std::string path;  // the component
  std::string probe; // the probe's name
  config::failure_mode mode = config::failure_mode::check_failed;
  severity_choice severity;
  std::string detail;
  std::string output;
  std::string status_text;    // the component's last sd_notify STATUS=
  std::int64_t failed_ns = 0; // steady: the first failing check started
  std::int64_t at_ns = 0;     // steady: raised
  caf::actor child;           // the component's process actor
  caf::actor supervisor;      // its supervisor
  std::int32_t pid = 0;       // the instance that failed, if known
  instance_state state = instance_state::running; // the component then
  std::int32_t code = 0;                          // an exit's code
  std::int32_t signal = 0;                        // an exit's signal
  note_fields fields; // into the incident's `detail`
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, failure_report& x) {
  return f(caf::meta::type_name("grace.failure_report"), x.path, x.probe,
           x.mode, x.severity, x.detail, x.output, x.status_text, x.failed_ns,
           x.at_ns, x.child, x.supervisor, x.pid, x.state, x.code, x.signal,
           x.fields);
}

using runtime::component_status; // grace status: one component

using status_list = std::vector<component_status>;

/// A new spec for a supervisor (`grace reload`), with the tree that owns it.
/// Local only: not serialised.
struct spec_update {
  std::shared_ptr<const config::supervisor_spec> spec;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, spec_update&) {
  return f(caf::meta::type_name("grace.spec_update"));
}

/// A new config for the coordinator (`grace reload`). Local only.
struct config_update {
  std::shared_ptr<const config::grace_config> config;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, config_update&) {
  return f(caf::meta::type_name("grace.config_update"));
}

/// Registers the message types above with a CAF config.
void register_messages(caf::actor_system_config& cfg);

/// Makes `self` log and drop a message it has no handler for, and an error
/// message nobody waits for, instead of CAF's defaults: printing through
/// CAF's printer and answering with an error - which the sender's default
/// error handler takes as a reason to quit (a supervisor would leave its
/// children behind). Every actor calls it first in make_behavior().
void log_stray_messages(caf::scheduled_actor* self);

/// Returns steady-clock nanoseconds now.
std::int64_t steady_ns();

/// The message of an error made with grace_error() or make_error(code,
/// text), "no answer in time" for a request's timeout, else CAF's rendering.
std::string error_text(const caf::error& err);

/// An error of grace's own category (grace_errc, runtime/errors.hpp), with
/// the message people read.
caf::error grace_error(grace_errc code, std::string message);

/// The grace code of `err`, if it is one of grace's.
std::optional<grace_errc> grace_code(const caf::error& err);

// -- notes to the tracker, as the actors write them
// -----------------------------

/// Returns a `failed` note (observed at steady `at_ns`; 0 = now).
inline incident_note failed_note(std::string path, config::failure_mode mode,
                                 std::string detail, std::int64_t at_ns = 0) {
  incident_note n;
  n.kind = note_kind::failed;
  n.path = std::move(path);
  n.mode = mode;
  n.detail = std::move(detail);
  n.at_ns = at_ns ? at_ns : steady_ns();
  return n;
}

/// Returns an `action` note (`step` done at steady `at_ns`; 0 = now).
inline incident_note action_note(std::string path, std::string step,
                                 std::string detail, std::int32_t pid = 0,
                                 std::int64_t at_ns = 0) {
  incident_note n;
  n.kind = note_kind::action;
  n.path = std::move(path);
  n.step = std::move(step);
  n.detail = std::move(detail);
  n.pid = pid;
  n.at_ns = at_ns ? at_ns : steady_ns();
  return n;
}

/// Returns a `recovered` note: ready by `rule` at steady `at_ns` (0 = now).
inline incident_note recovered_note(std::string path, std::string rule,
                                    std::int32_t pid = 0,
                                    std::int64_t at_ns = 0) {
  incident_note n;
  n.kind = note_kind::recovered;
  n.path = std::move(path);
  n.step = std::move(rule);
  n.pid = pid;
  n.at_ns = at_ns ? at_ns : steady_ns();
  return n;
}

/// Returns a `closed` note, now.
inline incident_note closed_note(std::string path,
                                 runtime::incident_status status,
                                 std::string detail, bool subtree = false) {
  incident_note n;
  n.kind = note_kind::closed;
  n.path = std::move(path);
  n.status = status;
  n.detail = std::move(detail);
  n.subtree = subtree;
  n.at_ns = steady_ns();
  return n;
}

} // namespace grace::actors

namespace grace::runtime {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, component_status& x) {
  return f(caf::meta::type_name("grace.component_status"), x.path, x.supervisor,
           x.state, x.pid, x.ready_ns, x.restarts, x.last_failure, x.failed_ns,
           x.probes);
}

} // namespace grace::runtime
