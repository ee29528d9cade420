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
#include <vector>

#include <caf/all.hpp>

#include "actors/clock.hpp"
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
using deadline_atom = caf::atom_constant<caf::atom("deadline")>;
using local_atom = caf::atom_constant<caf::atom("local")>;
using peer_status_atom = caf::atom_constant<caf::atom("peerstat")>;
using peer_op_atom = caf::atom_constant<caf::atom("peerop")>;
using remote_atom = caf::atom_constant<caf::atom("remote")>;
using here_atom = caf::atom_constant<caf::atom("here")>;

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
  /// The instance running now: started, ready, and the replacement of an
  /// exit it `restarted` from.
  std::int32_t pid = 0;
  /// Steady-clock nanoseconds when grace observed it.
  std::int64_t at_ns = 0;
  /// exited, spawn_failed: the failure (`what.pid` the instance that ended).
  /// Its mode is one of crashed, exited, spawn_failed, sandbox_failed,
  /// oom_killed, port_in_use, ready_timeout, restart_intensity_exceeded.
  component_failure what;
  /// An exit the child already recovered from with its restart permit: the
  /// replacement runs (pid), the supervisor only records the restart.
  bool restarted = false;
  /// Its incident is on record already (the coordinator opened and closed
  /// it): the supervisor applies its rules without noting it again.
  bool noted = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, note_fields& x) {
  return f(caf::meta::type_name("grace.note_fields"), x.numbers, x.texts);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, component_failure& x) {
  return f(caf::meta::type_name("grace.component_failure"), x.mode, x.pid,
           x.code, x.signal, x.detail, x.output, x.failed_ns, x.fields);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, child_report& x) {
  return f(caf::meta::type_name("grace.child_report"), x.path, x.kind, x.pid,
           x.at_ns, x.what, x.restarted, x.noted);
}

/// A severity the reporter chose; none: the component's override for the
/// mode, else the mode's default.
using severity_choice = caf::optional<config::severity>;

/// A failure, told to the tracker (which keys incidents by component: one
/// open per component): it opens an incident, or counts on the open one.
struct failure_note {
  std::string path;
  component_failure what;
  severity_choice severity; // as classified
  /// Opened by the coordinator, resolved only by its verification.
  bool verified = false;
  std::string playbook;   // the playbook that heals it (else restart)
  std::string caused_by;  // the component whose incident caused it
  std::int64_t at_ns = 0; // steady clock: when grace observed it
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, failure_note& x) {
  return f(caf::meta::type_name("grace.failure_note"), x.path, x.what,
           x.severity, x.verified, x.playbook, x.caused_by, x.at_ns);
}

/// What else a supervisor (or the coordinator, a playbook, the node) tells
/// the tracker about the incident open for a component.
enum class note_kind : std::uint8_t {
  action,    // something was done about it (restart, start, ...)
  snapshot,  // the component is about to be acted on: snapshot it
  recovered, // it is ready again: resolved
  closed,    // it will not recover here: failed, escalated, held, abandoned
};

/// A note to the tracker.
struct incident_note {
  note_kind kind = note_kind::action;
  std::string path;
  std::string step; // action: restart, start, stop, ...; recovered: the
                    // readiness rule that passed
  /// closed: failed, escalated, held or abandoned.
  runtime::incident_status status = runtime::incident_status::failed;
  instance_state state = instance_state::exited; // snapshot: as it was
  severity_choice severity; // closed: replaces the incidents' severity
  bool verified = false;    // recovered: by the coordinator's verification
  bool ok = true;           // action: it worked
  bool subtree = false;     // closed: every open incident under `path` too
  std::int32_t pid = 0;
  std::string detail;      // why, in words
  std::string status_text; // snapshot: its last sd_notify STATUS=
  std::int64_t at_ns = 0;  // steady clock: when it happened
  std::string playbook;    // action: the playbook now running (on_failure)
  int attempt = 0;         // action: the playbook's attempt (1, 2, ...)
  note_fields fields;      // action: its fields
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, incident_note& x) {
  return f(caf::meta::type_name("grace.incident_note"), x.kind, x.path, x.step,
           x.status, x.state, x.severity, x.verified, x.ok, x.subtree, x.pid,
           x.detail, x.status_text, x.at_ns, x.playbook, x.attempt, x.fields);
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

/// A failure a monitor raises to the coordinator (a probe's, or an exit or
/// a held port a supervisor hands to a playbook).
struct failure_report {
  std::string path;  // the component
  std::string probe; // the probe's name; empty: not a probe's
  component_failure what;
  severity_choice severity;
  std::string status_text; // the component's last sd_notify STATUS=
  std::int64_t at_ns = 0;  // steady: raised
  caf::actor child;        // the component's process actor
  caf::actor supervisor;   // its supervisor
  instance_state state = instance_state::running; // the component then
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, failure_report& x) {
  return f(caf::meta::type_name("grace.failure_report"), x.path, x.probe,
           x.what, x.severity, x.status_text, x.at_ns, x.child, x.supervisor,
           x.state);
}

using runtime::component_status; // grace status: one component

using status_list = std::vector<component_status>;

using runtime::node_status; // grace status in a cluster: one node

using node_list = std::vector<node_status>;

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

/// A placed component a node runs (or is starting, or still stopping), with
/// the epoch of its start (cluster/placement.hpp).
struct cluster_claim {
  std::string path;
  std::uint64_t epoch = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_claim& x) {
  return f(caf::meta::type_name("grace.cluster_claim"), x.path, x.epoch);
}

/// A dependency of other nodes' components that is down on the node that
/// runs it: its failure mode (config::to_string) and what happened.
struct cluster_fault {
  std::string path;
  std::string mode;
  std::string detail;

  friend bool operator==(const cluster_fault&, const cluster_fault&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_fault& x) {
  return f(caf::meta::type_name("grace.cluster_fault"), x.path, x.mode,
           x.detail);
}

/// One node's heartbeat to the others (cluster_node.hpp): who it is, the
/// config it runs, since when, what it runs of the placed components, and
/// which of those that other nodes' components depend on are ready (or
/// down, and why).
struct cluster_heartbeat {
  std::string node;
  std::string digest;          // of its config file (config/cluster.hpp)
  std::int64_t started_us = 0; // wall clock: the later of two configs leaves
  std::vector<cluster_claim> claims;
  std::vector<std::string> ready;
  std::vector<cluster_fault> faults;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_heartbeat& x) {
  return f(caf::meta::type_name("grace.cluster_heartbeat"), x.node, x.digest,
           x.started_us, x.claims, x.ready, x.faults);
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

// -- notes to the tracker
// ------------------------------------------------------
//
// A note's `at_ns` 0 means now: send_note() stamps it by the node's clock (the
// tracker, on arrival, stamps a note sent otherwise).

/// Sends `n` to `tracker` (none: nothing is recorded), stamped now by
/// `time` unless it says when it happened.
template <class Self, class Note>
void send_note(Self* self, const caf::actor& tracker, const clock& time,
               Note n) {
  if (!tracker)
    return;
  if (n.at_ns == 0)
    n.at_ns = time.steady_ns();
  self->send(tracker, std::move(n));
}

/// Returns the note of `what` failing at `path`, observed at steady `at_ns`
/// (0: now).
inline failure_note failed_note(std::string path, component_failure what,
                                std::int64_t at_ns = 0) {
  failure_note n;
  n.path = std::move(path);
  n.what = std::move(what);
  n.at_ns = at_ns;
  return n;
}

/// Returns the note of a failure known by its mode and words alone.
inline failure_note failed_note(std::string path, config::failure_mode mode,
                                std::string detail, std::int64_t at_ns = 0) {
  component_failure what;
  what.mode = mode;
  what.detail = std::move(detail);
  return failed_note(std::move(path), std::move(what), at_ns);
}

/// Returns an `action` note (`step` done at steady `at_ns`; 0: now).
inline incident_note action_note(std::string path, std::string step,
                                 std::string detail, std::int32_t pid = 0,
                                 std::int64_t at_ns = 0) {
  incident_note n;
  n.kind = note_kind::action;
  n.path = std::move(path);
  n.step = std::move(step);
  n.detail = std::move(detail);
  n.pid = pid;
  n.at_ns = at_ns;
  return n;
}

/// Returns a `recovered` note: ready by `rule` at steady `at_ns` (0: now).
inline incident_note recovered_note(std::string path, std::string rule,
                                    std::int32_t pid = 0,
                                    std::int64_t at_ns = 0) {
  incident_note n;
  n.kind = note_kind::recovered;
  n.path = std::move(path);
  n.step = std::move(rule);
  n.pid = pid;
  n.at_ns = at_ns;
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
  return n;
}

} // namespace grace::actors

namespace grace::runtime {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, component_status& x) {
  return f(caf::meta::type_name("grace.component_status"), x.path, x.supervisor,
           x.state, x.pid, x.ready_ns, x.restarts, x.last_failure, x.failed_ns,
           x.probes, x.node, x.late);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_status& x) {
  return f(caf::meta::type_name("grace.node_status"), x.name, x.up, x.self,
           x.down_ns);
}

} // namespace grace::runtime
