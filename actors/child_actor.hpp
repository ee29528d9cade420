// The process actor, shared by the files of its concepts: child.cpp (its
// messages, starting and watching one process, the fast path, failures and
// stops), child_ports.cpp (ports held before a start, free_port) and
// child_readiness.cpp (readiness, probes paused and resumed, the
// verification of a healing). Internal to actors/.
#pragma once

#include <csignal>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include <unistd.h>

#include "actors/child_fsm.hpp"
#include "actors/messages.hpp"
#include "actors/node_context.hpp"
#include "runtime/io_loop.hpp"
#include "runtime/output.hpp"
#include "runtime/port_holder.hpp"
#include "runtime/process.hpp"
#include "runtime/readiness.hpp"
#include "runtime/sd_notify.hpp"

namespace grace::actors::detail {

using kill_timer = caf::atom_constant<caf::atom("kill")>;
using ready_timer = caf::atom_constant<caf::atom("readyto")>;
using notify_atom = caf::atom_constant<caf::atom("notify")>;
using verify_timer = caf::atom_constant<caf::atom("verifyto")>;
using verify_retry = caf::atom_constant<caf::atom("verifyre")>;
using freed_atom = caf::atom_constant<caf::atom("freed")>;
using free_retry = caf::atom_constant<caf::atom("freere")>;

// Returns the heartbeat probe of `spec`, if it has one.
inline const config::heartbeat_probe*
heartbeat(const config::child_spec& spec) {
  for (auto& p : spec.probes)
    if (auto* h = std::get_if<config::heartbeat_probe>(&p.check))
      return h;
  return nullptr;
}

/// Returns "killed by SIGSEGV" or "exited with code 3".
inline std::string describe_exit(int code, int signal) {
  runtime::exit_status s;
  s.how = signal ? runtime::exit_status::kind::signaled
                 : runtime::exit_status::kind::exited;
  s.code = code;
  s.signal = signal;
  return to_string(s);
}

/// Returns the failure mode of an exit: oom_killed (SIGKILL after its
/// cgroup's OOM killer acted), port_in_use (a failure after "Address already
/// in use" on stderr), crashed (a signal) or exited.
inline config::failure_mode exit_mode(int signal, int code, bool addr_in_use,
                                      bool oom) {
  using fm = config::failure_mode;
  if (oom && signal == SIGKILL)
    return fm::oom_killed;
  if (addr_in_use && (signal || code != 0))
    return fm::port_in_use;
  return signal ? fm::crashed : fm::exited;
}

/// A restart the supervisor authorised in advance (messages.hpp: the fast
/// path).
struct restart_permit {
  bool any_exit = true;           // permanent; transient: abnormal exits only
  std::int64_t not_before_ns = 0; // steady; earlier exits take the slow path
};

/// What the I/O thread needs to restart the child itself when it exits with
/// a permit. Shared by the actor and its exit watchers, under the mutex.
struct fast_path {
  std::mutex mutex;
  std::optional<restart_permit> permit;
  runtime::spawn_options opts; // the replacement's
  // The write ends of the replacement's output pipes, made (and their read
  // ends watched) in advance: nothing on the restart path but the spawn.
  runtime::unique_fd out_write;
  runtime::unique_fd err_write;
  std::vector<std::uint16_t> ports;       // held by another: no restart at once
  std::shared_ptr<restart_budget> budget; // the node's; spent: no restart
};

/// The child's $NOTIFY_SOCKET, created on the I/O thread at its first start
/// and used there only.
struct notify_holder {
  std::shared_ptr<runtime::notify_socket> socket;
};

/// A `free_port` under way (the coordinator's playbook asked for it).
struct freeing {
  caf::response_promise rp;
  std::int64_t deadline_ns = 0;       // steady: a foreign holder is waited for
                                      // until then
  std::chrono::milliseconds pause{1}; // before looking again
  note_fields fields;                 // port, holder_pid, holder_cmd
  std::string done;                   // what was stopped, in words
};

/// A verification under way (the coordinator's, after a restart).
struct verification {
  caf::response_promise rp;
  std::set<std::size_t> pending; // probes that have not passed yet
  std::string last_failure;
};

struct child_state {
  static inline const char* name = "grace.child";
  config::child_spec spec;
  node_context_ptr ctx;
  caf::actor supervisor;
  child_fsm fsm;         // its phase (child_fsm.hpp: the table)
  std::uint64_t gen = 0; // incarnation; timers and I/O of older ones are stale
  int pid = -1;
  /// Its cgroup (a directory descriptor the node's containment owns), made
  /// at its first start; -1 without cgroups.
  int cgroup = -1;
  /// Its cgroup's OOM kills (memory.events) when last looked at; -1 without
  /// `limits.memory`.
  std::int64_t oom_kills = -1;
  std::int64_t started_ns = 0; // steady clock: when `pid` was spawned
  int attempt = 0;
  /// The last failed start's reason, and how many failed alike since it
  /// was logged (a shortage retried for minutes is said once).
  std::string last_spawn_failure;
  std::uint64_t spawn_failures_alike = 0;
  runtime::cancel_flag cancel_ready;
  std::shared_ptr<runtime::output_sink> out; // used on the I/O thread only
  std::shared_ptr<runtime::output_sink> err;
  std::shared_ptr<notify_holder> notify;
  std::string notify_address; // its $NOTIFY_SOCKET, once the socket is open
  std::shared_ptr<fast_path> fast;
  std::vector<caf::actor> monitors; // one per probe, paused unless ready
  std::map<std::uint64_t, verification> verifications;
  std::uint64_t verification_ids = 0;
  std::vector<std::uint64_t> waiting_ready; // verifications asked too early
  std::map<std::uint64_t, freeing> freeings;
  std::map<std::string, std::string> probe_health; // probe -> how it fares
  std::uint64_t freeing_ids = 0;
  /// Steady ns of the last stderr line saying the address is in use (set
  /// on the I/O thread): an exit after it is `port_in_use`.
  std::shared_ptr<std::atomic<std::int64_t>> addr_in_use
    = std::make_shared<std::atomic<std::int64_t>>(0);

  child_state() = default;
  child_state(const child_state&) = delete;
  child_state& operator=(const child_state&) = delete;

  // Runs in the actor's on_exit(), before CAF unregisters it, so the I/O
  // loop is still alive (attachables run after unregistering: too late).
  ~child_state() {
    if (!notify || !ctx)
      return;
    // The socket lives on the I/O thread: close it there.
    ctx->io->post([holder = std::move(notify)] {
      if (holder->socket)
        holder->socket->close();
      holder->socket.reset();
    });
  }
};

class process_actor : public caf::stateful_actor<child_state> {
public:
  process_actor(caf::actor_config& cfg, config::child_spec spec,
                node_context_ptr ctx, caf::actor supervisor)
      : caf::stateful_actor<child_state>(cfg) {
    state.spec = std::move(spec);
    state.ctx = std::move(ctx);
    state.supervisor = std::move(supervisor);
    auto base = state.ctx->log_dir + "/" + runtime::log_name(state.spec.path);
    state.out = runtime::output_sink::make(*state.ctx->io, base + ".out",
                                           state.ctx->output_max_bytes,
                                           state.ctx->output_keep);
    state.err = runtime::output_sink::make(*state.ctx->io, base + ".err",
                                           state.ctx->output_max_bytes,
                                           state.ctx->output_keep);
    state.fast = std::make_shared<fast_path>();
    state.fast->ports = state.spec.ports;
    state.fast->budget = state.ctx->budget;
    // A notify socket for `ready: notify` and for heartbeats (WATCHDOG=1);
    // such children start from the I/O thread, which owns the socket (a
    // restart with a permit happens there too).
    if (state.spec.ready.how == config::ready_spec::kind::notify
        || heartbeat(state.spec))
      state.notify = std::make_shared<notify_holder>();
  }

  caf::behavior make_behavior() override;

private:
  child_report report(report_kind kind) const;

  // A report of `kind` (exited, spawn_failed) that carries `what`.
  child_report report(report_kind kind, component_failure what) const;

  void send_report(child_report r) { send(state.supervisor, std::move(r)); }

  runtime::spawn_options options() { return options(state.attempt); }

  runtime::spawn_options options(int attempt);

  void start();

  // Its cgroup, made at the first start and kept across restarts. A
  // failure to make it is a failed start (sandbox_failed).
  bool enter_cgroup();

  // -- ports (SPEC.md section 5: free_port) ---------------------------------

  // Before a start: if one of its `ports:` is held, the start waits
  // (blocked) and the coordinator is told: its playbook (free_port unless
  // `on:` says otherwise) frees the port and starts it again.
  bool port_blocked();

  // Frees this component's ports for request `id`: a stale instance (one
  // of this component, or the same program with the same arguments not
  // run by this grace) is stopped, TERM then KILL after `shutdown`; a
  // foreign holder is never touched but waited for, with backoff, until
  // the deadline. Answers (ok, what was done or why not, fields).
  void free_ports(std::uint64_t id);

  // "pid 4242 (nginx: master process)".
  static std::string describe(const std::optional<runtime::port_holder>& h);

  // The port and its holder, for the incident.
  static void add_holder(note_fields& fields, std::uint16_t port,
                         const std::optional<runtime::port_holder>& h);

  // -- starting and watching ----------------------------------------------

  // The fast path: spawn from this actor's thread (vfork + exec costs about
  // as much as a round trip to the I/O thread would), and hand the I/O
  // thread only what it must watch: the exit and the output pipes.
  void start_here(runtime::spawn_options opts);

  // Children with a notify socket start from the I/O thread, which owns the
  // socket.
  void start_on_io_thread(runtime::spawn_options opts);

  // Watches the exit of `pid` (incarnation `gen`) on the I/O thread. With a
  // permit, the replacement is spawned right there; the actor learns of
  // both at once (respawned_atom).
  static void watch(node_context_ptr ctx, caf::actor self, std::uint64_t gen,
                    int pid, runtime::unique_fd pidfd,
                    std::shared_ptr<fast_path> fast, int cgroup);

  void revoke();

  // The I/O thread restarted the child with its permit.
  void respawned(int code, int signal, int pid, std::int64_t seen_ns,
                 std::int64_t spawned_ns);

  void spawned(int pid);

  const config::rlimit_spec* memory_limit() const;

  // Whether its cgroup's OOM killer acted since the last exit (one read of
  // memory.events, for children with `limits.memory` only).
  bool oom_killed();

  // The current instance's exit as a failure: its mode and the words.
  component_failure exit_failure(int code, int signal);

  // Whether the current instance said on stderr that its address is in use.
  bool addr_in_use() const;

  // -- readiness and verification -----------------------------------------

  void arm_readiness();

  // Starts a check that polls from the I/O thread (`start(cancel, on_ready)`)
  // and the `ready.within` deadline beside it.
  template <class Start>
  void poll_readiness(Start start) {
    auto gen = state.gen;
    auto self = caf::actor_cast<caf::actor>(this);
    state.cancel_ready = std::make_shared<std::atomic<bool>>(false);
    start(state.cancel_ready, std::function<void()>{[self, gen] {
            caf::anon_send(self, ready_atom::value, gen);
          }});
    delayed_send(this, state.spec.ready.within, ready_timer::value, gen);
  }

  void cancel_readiness();

  // Probes watch a ready component only: not one stopped, starting or
  // restarting (its failures there are the supervisor's business).
  void pause_monitors();

  // The verification of a healing: every probe passes once, freshly, the
  // component ready, before the deadline. A failing probe is asked again
  // (every `every`) until then. Answers (ok, why not).
  void verify(std::uint64_t id);

  void ask_probe(std::uint64_t id, std::size_t k);

  void probe_answered(std::uint64_t id, std::size_t k, bool ok,
                      const std::string& why);

  void answer_verification(std::uint64_t id, bool ok, const std::string& why);

  // Its readiness rule passed (child_event::ready).
  void became_ready();

  // Its readiness rule did not pass in time: killed (child_event::
  // ready_timeout); its exit is reported as ready_timeout.
  void ready_timeout();

  // -- failures and stops --------------------------------------------------

  void spawn_failed(int error, const std::string& why, bool sandbox);

  void exited(int code, int signal, std::int64_t seen_ns);

  // The supervisor stops it (child_event::stop).
  void stop();

  // Sends the stop signal (or SIGKILL, brutal_kill) and arms the kill
  // timer: the table's begin_stop.
  void begin_stop();
};

} // namespace grace::actors::detail
