#include "actors/child.hpp"

#include <algorithm>
#include <csignal>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include <unistd.h>

#include <spdlog/spdlog.h>

#include "actors/launch.hpp"
#include "actors/messages.hpp"
#include "actors/monitor.hpp"
#include "actors/stale_instance.hpp"
#include "config/units.hpp"
#include "runtime/cgroup.hpp"
#include "runtime/guardian.hpp"
#include "runtime/io_loop.hpp"
#include "runtime/output.hpp"
#include "runtime/port_holder.hpp"
#include "runtime/process.hpp"
#include "runtime/readiness.hpp"
#include "runtime/sd_notify.hpp"

namespace grace::actors {

namespace {

//   stopped --start--> spawning --spawned--> starting --ready--> running
//      ^                  |                     |                   |
//      |            spawn failed          exited / ready timeout   exited
//      +------------------+---------------------+-------------------+
//   starting|running --stop--> stopping --exited--> stopped
//   stopped --start, a port held--> blocked --start, ports free--> spawning
//                                      +--gave up (blocked_atom)--> stopped
enum class phase { stopped, blocked, spawning, starting, running, stopping };

using kill_timer = caf::atom_constant<caf::atom("kill")>;
using ready_timer = caf::atom_constant<caf::atom("readyto")>;
using notify_atom = caf::atom_constant<caf::atom("notify")>;
using verify_timer = caf::atom_constant<caf::atom("verifyto")>;
using verify_retry = caf::atom_constant<caf::atom("verifyre")>;
using freed_atom = caf::atom_constant<caf::atom("freed")>;
using free_retry = caf::atom_constant<caf::atom("freere")>;

// Returns the heartbeat probe of `spec`, if it has one.
const config::heartbeat_probe* heartbeat(const config::child_spec& spec) {
  for (auto& p : spec.probes)
    if (auto* h = std::get_if<config::heartbeat_probe>(&p.check))
      return h;
  return nullptr;
}

/// Returns "killed by SIGSEGV" or "exited with code 3".
std::string describe_exit(int code, int signal) {
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
std::string exit_mode(int signal, int code, bool addr_in_use, bool oom) {
  if (oom && signal == SIGKILL)
    return mode_name(config::failure_mode::oom_killed);
  if (addr_in_use && (signal || code != 0))
    return mode_name(config::failure_mode::port_in_use);
  return mode_name(signal ? config::failure_mode::crashed
                          : config::failure_mode::exited);
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
  phase now = phase::stopped;
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
  bool stop_pending = false; // stop arrived while spawning
  bool ready_timed_out = false;
  runtime::cancel_flag cancel_ready;
  std::shared_ptr<runtime::output_sink> out; // used on the I/O thread only
  std::shared_ptr<runtime::output_sink> err;
  std::shared_ptr<notify_holder> notify;
  std::shared_ptr<fast_path> fast;  // none for children started by notify
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
    // A notify socket for `ready: notify` and for heartbeats (WATCHDOG=1);
    // such children start from the I/O thread, which owns the socket.
    if (state.spec.ready.how != config::ready_spec::kind::notify
        && !heartbeat(state.spec)) {
      state.fast = std::make_shared<fast_path>();
      state.fast->ports = state.spec.ports;
      state.fast->budget = state.ctx->budget;
    } else {
      state.notify = std::make_shared<notify_holder>();
    }
  }

  caf::behavior make_behavior() override {
    log_stray_messages(this);
    // "Address already in use" on stderr makes an exit `port_in_use`.
    state.ctx->io->post([err = state.err, seen = state.addr_in_use] {
      err->add_line_tap([seen](std::string_view line) {
        if (line.find("Address already in use") != line.npos
            || line.find("EADDRINUSE") != line.npos)
          seen->store(steady_ns());
      });
    });
    for (auto& probe : state.spec.probes)
      state.monitors.push_back(
        spawn_monitor(this, state.spec.path, probe, base_options(state.spec),
                      state.ctx, state.supervisor, state.out, state.err));
    // Anomaly probes watch the values another probe measures.
    for (std::size_t k = 0; k < state.spec.probes.size(); ++k) {
      auto* a = std::get_if<config::anomaly_probe>(&state.spec.probes[k].check);
      if (!a)
        continue;
      for (std::size_t j = 0; j < state.spec.probes.size(); ++j)
        if (state.spec.probes[j].name == a->of.name)
          send(state.monitors[j], subscribe_atom::value, state.monitors[k]);
    }
    return {
      [this](start_atom) { start(); },
      [this](stop_atom) { stop(); },
      [this](verify_atom,
             std::uint64_t within_ms) -> caf::result<bool, std::string> {
        auto rp = make_response_promise<bool, std::string>();
        auto id = ++state.verification_ids;
        state.verifications[id].rp = rp;
        delayed_send(this, std::chrono::milliseconds{within_ms},
                     verify_timer::value, id);
        if (state.now == phase::running)
          verify(id);
        else
          state.waiting_ready.push_back(id); // once it is ready
        return rp;
      },
      [this](free_port_atom) -> caf::result<bool, std::string, note_fields> {
        auto rp = make_response_promise<bool, std::string, note_fields>();
        auto id = ++state.freeing_ids;
        auto& f = state.freeings[id];
        f.rp = rp;
        auto within = state.spec.ready.within > config::duration::zero()
                        ? state.spec.ready.within
                        : config::duration{std::chrono::seconds{10}};
        f.deadline_ns
          = steady_ns()
            + std::chrono::duration_cast<std::chrono::nanoseconds>(within)
                .count();
        free_ports(id);
        return rp;
      },
      [this](freed_atom, std::uint64_t id, int pid, bool gone) {
        auto it = state.freeings.find(id);
        if (it == state.freeings.end())
          return;
        if (!gone) {
          auto f = std::move(it->second);
          state.freeings.erase(it);
          f.rp.deliver(false,
                       "pid " + std::to_string(pid)
                         + " outlived SIGKILL: the port is still held",
                       f.fields);
          return;
        }
        free_ports(id);
      },
      [this](free_retry, std::uint64_t id) {
        if (state.freeings.count(id))
          free_ports(id);
      },
      [this](blocked_atom, const std::string& why) {
        // The healing of a held port failed: this start is over; the
        // supervisor's rules (backoff, intensity) decide what follows.
        if (state.now != phase::blocked)
          return;
        state.now = phase::stopped;
        auto r = report(report_kind::spawn_failed);
        r.mode = mode_name(config::failure_mode::port_in_use);
        r.detail = why;
        r.noted = true;
        send_report(std::move(r));
      },
      [this](health_atom, const std::string& probe, const std::string& how) {
        state.probe_health[probe] = how;
      },
      [this](status_atom) {
        // "http ok, tcp failing 1/2", in probe order.
        std::string out;
        for (auto& p : state.spec.probes) {
          auto it = state.probe_health.find(p.name);
          out += (out.empty() ? "" : ", ") + p.name + " "
                 + (it == state.probe_health.end() ? "paused" : it->second);
        }
        return out;
      },
      [this](signal_atom, int sig) -> caf::result<bool, std::string> {
        if (state.pid <= 0
            || (state.now != phase::starting && state.now != phase::running))
          return {false, std::string{"not running"}};
        if (!runtime::signal_group(state.pid, sig))
          return {false, std::string{"pid "} + std::to_string(state.pid) + ": "
                           + std::strerror(errno)};
        return {true, "sent to pid " + std::to_string(state.pid)};
      },
      [this](unpause_atom) {
        // Re-armed after a healing failed: its monitors count afresh.
        if (state.now != phase::running)
          return;
        for (auto& m : state.monitors) {
          send(m, pause_atom::value);
          send(m, unpause_atom::value, state.pid, state.cgroup);
        }
      },
      [this](verify_timer, std::uint64_t id) {
        // The deadline of verification `id`.
        auto it = state.verifications.find(id);
        if (it == state.verifications.end())
          return;
        auto why = it->second.last_failure.empty() ? std::string{"not ready"}
                                                   : it->second.last_failure;
        answer_verification(id, false, why);
      },
      [this](verify_retry, std::uint64_t id, std::size_t k) {
        if (state.verifications.count(id) && state.now == phase::running)
          ask_probe(id, k);
      },
      [this](spawned_atom, std::uint64_t gen, int pid) {
        if (gen == state.gen)
          spawned(pid);
      },
      [this](spawned_atom, std::uint64_t gen, int error, const std::string& why,
             bool sandbox) {
        if (gen == state.gen)
          spawn_failed(error, why, sandbox);
      },
      [this](exited_atom, std::uint64_t gen, int code, int signal,
             std::int64_t seen_ns) {
        if (gen == state.gen)
          exited(code, signal, seen_ns);
      },
      [this](respawned_atom, std::uint64_t gen, int code, int signal, int pid,
             std::int64_t seen_ns, std::int64_t spawned_ns) {
        if (gen == state.gen)
          respawned(code, signal, pid, seen_ns, spawned_ns);
      },
      [this](permit_atom, bool any_exit, std::int64_t not_before_ns) {
        if (!state.fast || state.now != phase::running)
          return;
        auto opts = options(state.attempt + 1);
        // Looked up now, not on the restart path (a bare name means a
        // search of PATH).
        opts.executable = runtime::find_executable(opts.argv.front(), opts.env);
        auto out = runtime::output_sink::make_pipe();
        auto err = runtime::output_sink::make_pipe();
        if (!out.read || !err.read)
          return; // no pipes (EMFILE?): the slow path will do
        opts.stdout_fd = out.write.get();
        opts.stderr_fd = err.write.get();
        state.ctx->io->post(
          [out_sink = state.out, err_sink = state.err,
           out_read = std::make_shared<runtime::unique_fd>(std::move(out.read)),
           err_read
           = std::make_shared<runtime::unique_fd>(std::move(err.read))] {
            out_sink->read_from(std::move(*out_read));
            err_sink->read_from(std::move(*err_read));
          });
        std::lock_guard<std::mutex> guard{state.fast->mutex};
        state.fast->permit = restart_permit{any_exit, not_before_ns};
        state.fast->opts = std::move(opts);
        state.fast->out_write = std::move(out.write);
        state.fast->err_write = std::move(err.write);
      },
      [this](revoke_atom) { revoke(); },
      [this](ready_atom, std::uint64_t gen) {
        if (gen == state.gen && state.now == phase::starting)
          became_ready();
      },
      [this](ready_timer, std::uint64_t gen) {
        if (gen == state.gen && state.now == phase::starting)
          ready_timeout();
      },
      [this](notify_atom, int pid, int pgid, bool ready, bool watchdog,
             const std::string& status) {
        // Only the current process (or one in its group) speaks for it.
        if (state.pid <= 0 || (pid != state.pid && pgid != state.pid))
          return;
        if (ready && state.now == phase::starting)
          became_ready();
        if (!status.empty())
          for (auto& m : state.monitors)
            send(m, status_atom::value, status);
        if (watchdog)
          for (std::size_t k = 0; k < state.monitors.size(); ++k)
            if (state.spec.probes[k].kind == config::probe_kind::heartbeat)
              send(state.monitors[k], watchdog_atom::value);
      },
      [this](kill_timer, std::uint64_t gen) {
        if (gen == state.gen && state.now == phase::stopping) {
          spdlog::warn("{}: did not stop within {}, sending SIGKILL",
                       state.spec.path,
                       config::format_duration(state.spec.shutdown.timeout));
          runtime::kill_component(state.pid, state.cgroup);
        }
      },
    };
  }

private:
  child_report report(report_kind kind) const {
    child_report r;
    r.path = state.spec.path;
    r.kind = kind;
    r.pid = state.pid;
    r.at_ns = steady_ns();
    return r;
  }

  void send_report(child_report r) { send(state.supervisor, std::move(r)); }

  runtime::spawn_options options() { return options(state.attempt); }

  runtime::spawn_options options(int attempt) {
    auto o = base_options(state.spec);
    o.cgroup = state.cgroup;
    if (auto* memory = memory_limit()) // for the component, not its checks
      o.memory_max = memory->value;
    o.env.push_back("GRACE_ATTEMPT=" + std::to_string(attempt));
    // As systemd's WatchdogSec= does: sd_watchdog_enabled() sees it.
    if (auto* h = heartbeat(state.spec))
      o.env.push_back(
        "WATCHDOG_USEC="
        + std::to_string(
          std::chrono::duration_cast<std::chrono::microseconds>(h->within)
            .count()));
    return o;
  }

  void start() {
    if (state.now == phase::blocked)
      state.now = phase::stopped; // the port may be free now: look again
    if (state.now != phase::stopped)
      return; // already on its way up
    if (port_blocked())
      return;
    if (!enter_cgroup())
      return;
    pause_monitors();
    ++state.gen;
    ++state.attempt;
    state.now = phase::spawning;
    state.pid = -1;
    state.stop_pending = false;
    state.ready_timed_out = false;
    auto opts = options();
    if (state.notify)
      start_on_io_thread(std::move(opts));
    else
      start_here(std::move(opts));
  }

  // Its cgroup, made at the first start and kept across restarts. A
  // failure to make it is a failed start (sandbox_failed).
  bool enter_cgroup() {
    auto& cg = state.ctx->containment;
    if (!cg || state.cgroup >= 0)
      return true;
    state.cgroup = cg->component(state.spec.path);
    if (state.cgroup >= 0) {
      if (memory_limit())
        state.oom_kills = runtime::cgroup_oom_kills(state.cgroup);
      return true;
    }
    auto err = errno;
    spawn_failed(err,
                 "cannot create its cgroup "
                   + cg->component_dir(state.spec.path) + ": "
                   + std::strerror(err),
                 true);
    return false;
  }

  // -- ports (SPEC.md section 5: free_port) ---------------------------------

  // Before a start: if one of its `ports:` is held, the start waits
  // (blocked) and the coordinator is told: its playbook (free_port unless
  // `on:` says otherwise) frees the port and starts it again.
  bool port_blocked() {
    for (auto port : state.spec.ports) {
      if (!runtime::port_listened(port))
        continue;
      auto holder = runtime::find_port_holder(port);
      failure_report f;
      f.path = state.spec.path;
      f.probe = "ports";
      f.mode = mode_name(config::failure_mode::port_in_use);
      f.detail
        = "port " + std::to_string(port) + " is held by " + describe(holder);
      add_holder(f.fields, port, holder);
      f.at_ns = steady_ns();
      f.child = caf::actor_cast<caf::actor>(this);
      f.supervisor = state.supervisor;
      spdlog::warn("{}: not started: {}", state.spec.path, f.detail);
      if (!state.ctx->coordinator) {
        // Nobody to heal it: a failed start, the supervisor's rules apply.
        auto r = report(report_kind::spawn_failed);
        r.mode = f.mode;
        r.detail = f.detail;
        send_report(std::move(r));
        return true;
      }
      state.now = phase::blocked;
      send(state.ctx->coordinator, std::move(f));
      return true;
    }
    return false;
  }

  // Frees this component's ports for request `id`: a stale instance (one
  // of this component, or the same program with the same arguments not
  // run by this grace) is stopped, TERM then KILL after `shutdown`; a
  // foreign holder is never touched but waited for, with backoff, until
  // the deadline. Answers (ok, what was done or why not, fields).
  void free_ports(std::uint64_t id) {
    auto& f = state.freeings.at(id);
    for (auto port : state.spec.ports) {
      if (!runtime::port_listened(port))
        continue;
      auto holder = runtime::find_port_holder(port);
      if (holder
          && is_stale_instance(*holder, state.spec,
                               state.ctx->containment.get(), state.pid)) {
        add_holder(f.fields, port, holder);
        // The instance's main process, not the worker that holds the
        // socket: stopped, it takes its workers with it.
        auto main = runtime::main_process(*holder, ::getpid());
        f.done += (f.done.empty() ? "stopped stale " : ", ") + describe(main)
                  + (main.pid == holder->pid
                       ? std::string{}
                       : " (the parent of " + describe(holder) + ")")
                  + " holding port " + std::to_string(port);
        spdlog::warn("{}: stopping stale pid {} ({}) that holds port {}{}",
                     state.spec.path, main.pid, main.command(), port,
                     main.pid == holder->pid ? std::string{}
                                             : " through its worker pid "
                                                 + std::to_string(holder->pid));
        // Its `shutdown`; a stale copy gets 5 s where that is infinity.
        using sk = config::shutdown_spec::kind;
        auto patience = std::chrono::milliseconds{0};
        if (state.spec.shutdown.how == sk::timeout)
          patience = std::chrono::duration_cast<std::chrono::milliseconds>(
            state.spec.shutdown.timeout);
        else if (state.spec.shutdown.how == sk::infinity)
          patience = std::chrono::seconds{5};
        auto self = caf::actor_cast<caf::actor>(this);
        state.ctx->io->post([io = state.ctx->io, self, id, pid = main.pid,
                             patience, sig = state.spec.stop_signal] {
          runtime::stop_process(
            *io, pid, sig, patience, [self, id, pid](bool gone) {
              caf::anon_send(self, freed_atom::value, id, pid, gone);
            });
        });
        return; // freed_atom: look again
      }
      // Foreign (or unseen): waited for, never killed.
      if (steady_ns() >= f.deadline_ns) {
        auto finished = std::move(f);
        state.freeings.erase(id);
        add_holder(finished.fields, port, holder);
        finished.rp.deliver(
          false,
          "port " + std::to_string(port) + " is held by " + describe(holder)
            + ", not an instance of " + state.spec.path
            + ": not killed; still held after "
            + config::format_duration(state.spec.ready.within),
          finished.fields);
        return;
      }
      delayed_send(this, f.pause, free_retry::value, id);
      f.pause = std::min(f.pause * 2, std::chrono::milliseconds{1000});
      return;
    }
    auto finished = std::move(f);
    state.freeings.erase(id);
    finished.rp.deliver(true,
                        finished.done.empty() ? "ports free" : finished.done,
                        finished.fields);
  }

  // "pid 4242 (nginx: master process)".
  static std::string describe(const std::optional<runtime::port_holder>& h) {
    if (!h)
      return "a process grace cannot see";
    return "pid " + std::to_string(h->pid) + " (" + h->command() + ")";
  }

  // The port and its holder, for the incident.
  static void add_holder(note_fields& fields, std::uint16_t port,
                         const std::optional<runtime::port_holder>& h) {
    fields.numbers.emplace_back("port", port);
    if (!h)
      return;
    fields.numbers.emplace_back("holder_pid", h->pid);
    fields.texts.emplace_back("holder_cmd", h->command());
  }

  // The fast path: spawn from this actor's thread (vfork + exec costs about
  // as much as a round trip to the I/O thread would), and hand the I/O
  // thread only what it must watch: the exit and the output pipes.
  void start_here(runtime::spawn_options opts) {
    using sink = runtime::output_sink;
    auto out = sink::make_pipe();
    auto err = sink::make_pipe();
    opts.stdout_fd = out.write.get();
    opts.stderr_fd = err.write.get();
    auto result = runtime::spawn(opts);
    out.write.reset();
    err.write.reset();
    auto self = caf::actor_cast<caf::actor>(this);
    auto gen = state.gen;
    auto ctx = state.ctx;
    auto cgroup = state.cgroup;
    if (auto* f = std::get_if<runtime::spawn_failure>(&result)) {
      spawn_failed(f->error, f->message, f->sandbox);
      return;
    }
    auto& child = std::get<runtime::child_process>(result);
    auto pid = child.pid;
    ctx->io->post(
      [self, gen, ctx, out_sink = state.out, err_sink = state.err,
       out_read = std::make_shared<runtime::unique_fd>(std::move(out.read)),
       err_read = std::make_shared<runtime::unique_fd>(std::move(err.read)),
       pidfd = std::make_shared<runtime::unique_fd>(std::move(child.pidfd)),
       pid, cgroup, fast = state.fast] {
        if (*out_read)
          out_sink->read_from(std::move(*out_read));
        if (*err_read)
          err_sink->read_from(std::move(*err_read));
        watch(ctx, self, gen, pid, std::move(*pidfd), fast, cgroup);
      });
    spawned(pid);
  }

  // Children with a notify socket start from the I/O thread, which owns the
  // socket.
  void start_on_io_thread(runtime::spawn_options opts) {
    auto self = caf::actor_cast<caf::actor>(this);
    auto gen = state.gen;
    auto ctx = state.ctx;
    ctx->io->post([self, gen, ctx, out_sink = state.out, err_sink = state.err,
                   notify = state.notify, opts = std::move(opts)]() mutable {
      if (!notify->socket)
        notify->socket = runtime::notify_socket::open(
          *ctx->io, [self](int pid, int pgid, runtime::notify_message m) {
            caf::anon_send(self, notify_atom::value, pid, pgid, m.ready,
                           m.watchdog, m.status.value_or(std::string{}));
          });
      if (!notify->socket) {
        caf::anon_send(self, spawned_atom::value, gen, errno,
                       std::string{"cannot create NOTIFY_SOCKET: "}
                         + std::strerror(errno),
                       false);
        return;
      }
      opts.env.push_back("NOTIFY_SOCKET=" + notify->socket->address());
      auto out = out_sink->attach();
      auto err = err_sink->attach();
      opts.stdout_fd = out.get();
      opts.stderr_fd = err.get();
      auto result = runtime::spawn(opts);
      if (auto* f = std::get_if<runtime::spawn_failure>(&result)) {
        caf::anon_send(self, spawned_atom::value, gen, f->error, f->message,
                       f->sandbox);
        return;
      }
      auto& child = std::get<runtime::child_process>(result);
      caf::anon_send(self, spawned_atom::value, gen, child.pid);
      watch(ctx, self, gen, child.pid, std::move(child.pidfd), nullptr,
            opts.cgroup);
    });
  }

  // Watches the exit of `pid` (incarnation `gen`) on the I/O thread. With a
  // permit, the replacement is spawned right there; the actor learns of
  // both at once (respawned_atom).
  static void watch(node_context_ptr ctx, caf::actor self, std::uint64_t gen,
                    int pid, runtime::unique_fd pidfd,
                    std::shared_ptr<fast_path> fast, int cgroup) {
    auto& io = *ctx->io;
    // Without a cgroup, the guardian kills its process group should grace
    // die.
    if (cgroup < 0)
      runtime::guardian_watch_group(pid);
    runtime::watch_exit(
      io, pid, std::move(pidfd),
      [ctx, self, gen, fast, cgroup](int gone, runtime::exit_status s) {
        if (cgroup < 0)
          runtime::guardian_forget_group(gone);
        auto seen = steady_ns(); // detection: the pidfd event
        auto code = s.how == runtime::exit_status::kind::exited ? s.code : 0;
        auto sig = s.how == runtime::exit_status::kind::signaled ? s.signal : 0;
        if (fast) {
          std::unique_lock<std::mutex> guard{fast->mutex};
          auto& p = fast->permit;
          // Asked only when a permit applies: the ports (then the budget).
          auto port_held = [&] {
            return std::any_of(
              fast->ports.begin(), fast->ports.end(),
              [](std::uint16_t port) { return runtime::port_listened(port); });
          };
          if (p && (p->any_exit || !s.clean())
              && steady_ns() >= p->not_before_ns && !port_held()
              && (!fast->budget
                  || fast->budget->take(std::chrono::steady_clock::now()))) {
            p.reset(); // used once
            auto result = runtime::spawn(fast->opts);
            fast->out_write.reset(); // the child has its own copies now
            fast->err_write.reset();
            guard.unlock();
            if (auto* child = std::get_if<runtime::child_process>(&result)) {
              auto spawned = steady_ns();
              auto next = child->pid;
              watch(ctx, self, gen + 1, next, std::move(child->pidfd), fast,
                    cgroup);
              caf::anon_send(self, respawned_atom::value, gen, code, sig, next,
                             seen, spawned);
              return;
            }
            // The replacement did not start: report the exit as such and
            // let the supervisor decide.
          }
        }
        caf::anon_send(self, exited_atom::value, gen, code, sig, seen);
      },
      cgroup);
  }

  void revoke() {
    if (!state.fast)
      return;
    std::lock_guard<std::mutex> guard{state.fast->mutex};
    state.fast->permit.reset();
    state.fast->out_write.reset(); // its reader sees the end of the pipe
    state.fast->err_write.reset();
  }

  // The I/O thread restarted the child with its permit.
  void respawned(int code, int signal, int pid, std::int64_t seen_ns,
                 std::int64_t spawned_ns) {
    cancel_readiness();
    auto was = state.now;
    auto old_pid = state.pid;
    std::string mode; // of the old instance
    auto detail = exit_detail(code, signal, &mode);
    pause_monitors();
    ++state.gen;
    ++state.attempt;
    state.pid = pid;
    state.started_ns = spawned_ns;
    state.ready_timed_out = false;
    if (was == phase::stopping) {
      // Asked to stop the old one: the replacement goes too, and only its
      // stop is reported.
      state.now = phase::running;
      stop();
      return;
    }
    state.now = phase::starting;
    auto r = report(report_kind::exited);
    r.at_ns = seen_ns;
    r.code = code;
    r.signal = signal;
    r.detail = detail;
    r.mode = mode;
    r.restarted = true;
    r.old_pid = old_pid;
    send_report(std::move(r));
    spdlog::warn("{}: {}; restarted at once (pid {})", state.spec.path, detail,
                 pid);
    arm_readiness();
  }

  void spawned(int pid) {
    state.pid = pid;
    state.started_ns = steady_ns();
    if (state.stop_pending) {
      state.now = phase::starting;
      stop();
      return;
    }
    state.now = phase::starting;
    spdlog::info("{}: started (pid {})", state.spec.path, pid);
    send_report(report(report_kind::started));
    arm_readiness();
  }

  const config::rlimit_spec* memory_limit() const {
    for (auto& l : state.spec.limits)
      if (l.resource < 0)
        return &l;
    return nullptr;
  }

  // Whether its cgroup's OOM killer acted since the last exit (one read of
  // memory.events, for children with `limits.memory` only).
  bool oom_killed() {
    if (state.cgroup < 0 || state.oom_kills < 0)
      return false;
    auto now = runtime::cgroup_oom_kills(state.cgroup);
    auto fresh = now > state.oom_kills;
    state.oom_kills = now; // fewer: the cgroup was made anew
    return fresh;
  }

  // The failure mode and the detail of the current instance's exit.
  std::string exit_detail(int code, int signal, std::string* mode) {
    auto oom = oom_killed();
    *mode = exit_mode(signal, code, addr_in_use(), oom);
    auto detail = describe_exit(code, signal);
    if (oom && signal == SIGKILL)
      detail += " (out of memory: limits.memory "
                + config::format_size(memory_limit()->value) + ")";
    return detail;
  }

  // Whether the current instance said on stderr that its address is in use.
  bool addr_in_use() const {
    return state.started_ns > 0
           && state.addr_in_use->load() >= state.started_ns;
  }

  void arm_readiness() {
    auto& ready = state.spec.ready;
    auto gen = state.gen;
    switch (ready.how) {
      case config::ready_spec::kind::running:
        became_ready();
        return;
      case config::ready_spec::kind::delay:
        delayed_send(this, ready.delay, ready_atom::value, gen);
        return;
      case config::ready_spec::kind::tcp:
        poll_readiness([&](runtime::cancel_flag cancel, auto on_ready) {
          runtime::wait_for_tcp(*state.ctx->io, ready.host, ready.port,
                                state.ctx->ready_poll, std::move(cancel),
                                std::move(on_ready));
        });
        return;
      case config::ready_spec::kind::notify:
        // READY=1 arrives on the notify socket (notify_atom).
        delayed_send(this, ready.within, ready_timer::value, gen);
        return;
      case config::ready_spec::kind::exec:
        poll_readiness([&](runtime::cancel_flag cancel, auto on_ready) {
          auto check = options();
          check.argv = ready.argv;
          check.cgroup = -1; // a check, not part of the component
          check.memory_max.reset();
          runtime::wait_for_exec(
            *state.ctx->io, std::move(check),
            std::max(state.ctx->ready_poll, std::chrono::milliseconds{50}),
            std::move(cancel), std::move(on_ready));
        });
        return;
    }
  }

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

  void cancel_readiness() {
    if (state.cancel_ready)
      state.cancel_ready->store(true);
    state.cancel_ready.reset();
  }

  // Probes watch a ready component only: not one stopped, starting or
  // restarting (its failures there are the supervisor's business).
  void pause_monitors() {
    for (auto& m : state.monitors)
      send(m, pause_atom::value);
  }

  // The verification of a healing: every probe passes once, freshly, the
  // component ready, before the deadline. A failing probe is asked again
  // (every `every`) until then. Answers (ok, why not).
  void verify(std::uint64_t id) {
    auto it = state.verifications.find(id);
    if (it == state.verifications.end())
      return;
    auto& v = it->second;
    for (std::size_t k = 0; k < state.monitors.size(); ++k)
      v.pending.insert(k);
    if (v.pending.empty())
      return answer_verification(id, true, {});
    for (std::size_t k = 0; k < state.monitors.size(); ++k)
      ask_probe(id, k);
  }

  void ask_probe(std::uint64_t id, std::size_t k) {
    auto& probe = state.spec.probes[k];
    auto patience = probe.timeout + probe.every;
    if (auto* h = std::get_if<config::heartbeat_probe>(&probe.check))
      patience = h->within; // the next WATCHDOG=1 answers
    auto limit = std::chrono::duration_cast<std::chrono::milliseconds>(
      patience + std::chrono::seconds{1});
    request(state.monitors[k], limit, check_atom::value)
      .then(
        [this, id, k](bool ok, const std::string& why) {
          probe_answered(id, k, ok, why);
        },
        [this, id, k](caf::error& err) {
          probe_answered(id, k, false, to_string(err));
        });
  }

  void probe_answered(std::uint64_t id, std::size_t k, bool ok,
                      const std::string& why) {
    auto it = state.verifications.find(id);
    if (it == state.verifications.end())
      return;
    auto& v = it->second;
    if (ok) {
      v.pending.erase(k);
      if (v.pending.empty())
        answer_verification(id, true, {});
      return;
    }
    v.last_failure = "probe " + state.spec.probes[k].name + ": " + why;
    // Asked again soon (its interval, at most 50 ms: the healing's time to
    // recovery is measured by this), until the deadline.
    auto again = std::min<config::duration>(state.spec.probes[k].every,
                                            std::chrono::milliseconds{50});
    delayed_send(this, again, verify_retry::value, id, k);
  }

  void answer_verification(std::uint64_t id, bool ok, const std::string& why) {
    auto it = state.verifications.find(id);
    if (it == state.verifications.end())
      return;
    it->second.rp.deliver(ok, why);
    state.verifications.erase(it);
  }

  void became_ready() {
    cancel_readiness();
    state.now = phase::running;
    for (auto& m : state.monitors)
      send(m, unpause_atom::value, state.pid, state.cgroup);
    auto waiting = std::move(state.waiting_ready);
    state.waiting_ready.clear();
    for (auto id : waiting)
      verify(id);
    spdlog::info("{}: ready", state.spec.path);
    auto r = report(report_kind::ready);
    // Ready by the `running` rule means ready once it was spawned.
    if (state.spec.ready.how == config::ready_spec::kind::running
        && state.started_ns > 0)
      r.at_ns = state.started_ns;
    send_report(std::move(r));
  }

  void ready_timeout() {
    cancel_readiness();
    spdlog::warn("{}: not ready within {}, killing it", state.spec.path,
                 config::format_duration(state.spec.ready.within));
    state.ready_timed_out = true;
    runtime::signal_group(state.pid, SIGKILL);
  }

  void spawn_failed(int error, const std::string& why, bool sandbox) {
    state.now = phase::stopped;
    spdlog::error("{}: {}", state.spec.path, why);
    auto r = report(state.stop_pending ? report_kind::stopped
                                       : report_kind::spawn_failed);
    r.code = error;
    r.detail = why;
    r.mode = mode_name(sandbox ? config::failure_mode::sandbox_failed
                               : config::failure_mode::spawn_failed);
    send_report(std::move(r));
  }

  void exited(int code, int signal, std::int64_t seen_ns) {
    cancel_readiness();
    pause_monitors();
    auto was = state.now;
    state.now = phase::stopped;
    auto r = report(was == phase::stopping ? report_kind::stopped
                                           : report_kind::exited);
    r.at_ns = seen_ns;
    r.code = code;
    r.signal = signal;
    r.detail = exit_detail(code, signal, &r.mode);
    if (state.ready_timed_out) {
      r.mode = mode_name(config::failure_mode::ready_timeout);
      r.detail = "not ready within "
                 + config::format_duration(state.spec.ready.within);
    }
    // Report first: the restart must not wait for the log line.
    auto path = state.spec.path;
    auto detail = r.detail;
    auto failed = signal || code != 0 || state.ready_timed_out;
    send_report(std::move(r));
    if (was == phase::stopping)
      spdlog::info("{}: stopped ({})", path, detail);
    else if (failed)
      spdlog::warn("{}: {}", path, detail);
    else
      spdlog::info("{}: {}", path, detail);
  }

  void stop() {
    revoke();
    pause_monitors();
    switch (state.now) {
      case phase::stopped:
        send_report(report(report_kind::stopped));
        return;
      case phase::blocked:
        state.now = phase::stopped;
        send_report(report(report_kind::stopped));
        return;
      case phase::spawning:
        state.stop_pending = true;
        return;
      case phase::stopping:
        return;
      case phase::starting:
      case phase::running:
        break;
    }
    cancel_readiness();
    state.now = phase::stopping;
    auto& shutdown = state.spec.shutdown;
    using k = config::shutdown_spec::kind;
    if (shutdown.how == k::brutal_kill) {
      runtime::kill_component(state.pid, state.cgroup);
      return;
    }
    // SIGCONT after it: a stopped process (SIGSTOP, a debugger) would sit
    // on the stop signal until the SIGKILL.
    runtime::signal_group(state.pid, state.spec.stop_signal);
    runtime::signal_group(state.pid, SIGCONT);
    if (shutdown.how == k::timeout)
      delayed_send(this, shutdown.timeout, kill_timer::value, state.gen);
  }
};

} // namespace

caf::actor spawn_process_actor(caf::event_based_actor* supervisor,
                               const config::child_spec& spec,
                               node_context_ptr ctx) {
  return supervisor->spawn<process_actor, caf::monitored>(
    spec, std::move(ctx), caf::actor_cast<caf::actor>(supervisor));
}

} // namespace grace::actors
