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

#include "actors/child_actor.hpp"
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

namespace grace::actors::detail {

caf::behavior process_actor::make_behavior() {
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
      if (state.fsm.now == child_phase::running)
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
      if (step(state.fsm, child_event::heal_failed)
          != child_effect::report_no_start)
        return;
      component_failure what;
      what.mode = config::failure_mode::port_in_use;
      what.detail = why;
      auto r = report(report_kind::spawn_failed, std::move(what));
      r.noted = true;
      send_report(std::move(r));
    },
    [this](failure_report& f) {
      // One of its monitors raised a failure: passed on, unless it concerns
      // an instance that has ended since (its exit, reported first, is the
      // failure; a probe of a dead process would restart it twice).
      if (f.what.pid != state.pid || state.fsm.now != child_phase::running) {
        spdlog::debug("{}: {} dropped: pid {} is gone", state.spec.path,
                      f.what.detail, f.what.pid);
        return;
      }
      if (state.ctx->coordinator)
        send(state.ctx->coordinator, std::move(f));
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
      auto now = state.fsm.now;
      if (state.pid <= 0
          || (now != child_phase::starting && now != child_phase::running))
        return {false, std::string{"not running"}};
      if (!runtime::signal_group(state.pid, sig))
        return {false, std::string{"pid "} + std::to_string(state.pid) + ": "
                         + std::strerror(errno)};
      return {true, "sent to pid " + std::to_string(state.pid)};
    },
    [this](unpause_atom) {
      // Re-armed after a healing failed: its monitors count afresh.
      if (state.fsm.now != child_phase::running)
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
      if (state.verifications.count(id)
          && state.fsm.now == child_phase::running)
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
    [this](notify_atom, const std::string& address) {
      state.notify_address = address; // the I/O thread opened the socket
    },
    [this](permit_atom, bool any_exit, std::int64_t not_before_ns) {
      if (state.fsm.now != child_phase::running)
        return;
      auto opts = options(state.attempt + 1);
      if (state.notify) {
        if (state.notify_address.empty())
          return; // never started with one: the slow path will do
        opts.env.push_back("NOTIFY_SOCKET=" + state.notify_address);
      }
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
         err_read = std::make_shared<runtime::unique_fd>(std::move(err.read))] {
          out_sink->read_from(std::move(*out_read));
          err_sink->read_from(std::move(*err_read));
        });
      {
        std::lock_guard<std::mutex> guard{state.fast->mutex};
        state.fast->permit = restart_permit{any_exit, not_before_ns};
        state.fast->opts = std::move(opts);
        state.fast->out_write = std::move(out.write);
        state.fast->err_write = std::move(err.write);
      }
      spdlog::debug("{}: holds a restart permit", state.spec.path);
    },
    [this](revoke_atom) { revoke(); },
    [this](ready_atom, std::uint64_t gen) {
      if (gen == state.gen)
        became_ready();
    },
    [this](ready_timer, std::uint64_t gen) {
      if (gen == state.gen)
        ready_timeout();
    },
    [this](notify_atom, int pid, int pgid, bool ready, bool watchdog,
           const std::string& status) {
      // Only the current process (or one in its group) speaks for it.
      if (state.pid <= 0 || (pid != state.pid && pgid != state.pid))
        return;
      if (ready)
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
      if (gen == state.gen
          && step(state.fsm, child_event::kill_timeout) == child_effect::kill) {
        spdlog::warn("{}: did not stop within {}, sending SIGKILL",
                     state.spec.path,
                     config::format_duration(state.spec.shutdown.timeout));
        runtime::kill_component(state.pid, state.cgroup);
      }
    },
  };
}

child_report process_actor::report(report_kind kind) const {
  child_report r;
  r.path = state.spec.path;
  r.kind = kind;
  r.pid = state.pid;
  r.at_ns = steady_ns();
  return r;
}

child_report process_actor::report(report_kind kind,
                                   component_failure what) const {
  auto r = report(kind);
  r.what = std::move(what);
  return r;
}

runtime::spawn_options process_actor::options(int attempt) {
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

void process_actor::start() {
  // Stopped, or blocked by a port that may be free now; else on its way up.
  if (step(state.fsm, child_event::start) != child_effect::spawn)
    return;
  if (port_blocked())
    return;
  if (!enter_cgroup())
    return;
  pause_monitors();
  ++state.gen;
  ++state.attempt;
  state.pid = -1;
  auto opts = options();
  if (state.notify)
    start_on_io_thread(std::move(opts));
  else
    start_here(std::move(opts));
}

bool process_actor::enter_cgroup() {
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
               "cannot create its cgroup " + cg->component_dir(state.spec.path)
                 + ": " + std::strerror(err),
               true);
  return false;
}

void process_actor::start_here(runtime::spawn_options opts) {
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
     pidfd = std::make_shared<runtime::unique_fd>(std::move(child.pidfd)), pid,
     cgroup, fast = state.fast] {
      if (*out_read)
        out_sink->read_from(std::move(*out_read));
      if (*err_read)
        err_sink->read_from(std::move(*err_read));
      watch(ctx, self, gen, pid, std::move(*pidfd), fast, cgroup);
    });
  spawned(pid);
}

void process_actor::start_on_io_thread(runtime::spawn_options opts) {
  auto self = caf::actor_cast<caf::actor>(this);
  auto gen = state.gen;
  auto ctx = state.ctx;
  ctx->io->post([self, gen, ctx, out_sink = state.out, err_sink = state.err,
                 notify = state.notify, fast = state.fast,
                 opts = std::move(opts)]() mutable {
    if (!notify->socket) {
      notify->socket = runtime::notify_socket::open(
        *ctx->io, [self](int pid, int pgid, runtime::notify_message m) {
          caf::anon_send(self, notify_atom::value, pid, pgid, m.ready,
                         m.watchdog, m.status.value_or(std::string{}));
        });
      if (notify->socket) // for the replacements a permit spawns
        caf::anon_send(self, notify_atom::value, notify->socket->address());
    }
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
    watch(ctx, self, gen, child.pid, std::move(child.pidfd), fast, opts.cgroup);
  });
}

void process_actor::watch(node_context_ptr ctx, caf::actor self,
                          std::uint64_t gen, int pid, runtime::unique_fd pidfd,
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
        if (p && (p->any_exit || !s.clean()) && steady_ns() >= p->not_before_ns
            && !port_held()
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

void process_actor::revoke() {
  std::lock_guard<std::mutex> guard{state.fast->mutex};
  state.fast->permit.reset();
  state.fast->out_write.reset(); // its reader sees the end of the pipe
  state.fast->err_write.reset();
}

void process_actor::respawned(int code, int signal, int pid,
                              std::int64_t seen_ns, std::int64_t spawned_ns) {
  cancel_readiness();
  auto what = exit_failure(code, signal); // of the old instance
  pause_monitors();
  ++state.gen;
  ++state.attempt;
  state.pid = pid;
  state.started_ns = spawned_ns;
  if (step(state.fsm, child_event::respawned) == child_effect::begin_stop) {
    // Asked to stop the old one: the replacement goes too, and only its
    // stop is reported.
    begin_stop();
    return;
  }
  auto detail = what.detail;
  auto r = report(report_kind::exited, std::move(what));
  r.at_ns = seen_ns;
  r.restarted = true;
  send_report(std::move(r));
  spdlog::warn("{}: {}; restarted at once (pid {})", state.spec.path, detail,
               pid);
  arm_readiness();
}

void process_actor::spawned(int pid) {
  state.pid = pid;
  state.started_ns = steady_ns();
  if (step(state.fsm, child_event::spawned) == child_effect::begin_stop) {
    begin_stop(); // a stop came while it was being spawned
    return;
  }
  if (state.spawn_failures_alike > 0)
    spdlog::info("{}: started (pid {}) after {} more failed starts like the "
                 "last said",
                 state.spec.path, pid, state.spawn_failures_alike);
  else
    spdlog::info("{}: started (pid {})", state.spec.path, pid);
  state.last_spawn_failure.clear();
  state.spawn_failures_alike = 0;
  send_report(report(report_kind::started));
  arm_readiness();
}

const config::rlimit_spec* process_actor::memory_limit() const {
  for (auto& l : state.spec.limits)
    if (l.resource < 0)
      return &l;
  return nullptr;
}

bool process_actor::oom_killed() {
  if (state.cgroup < 0 || state.oom_kills < 0)
    return false;
  auto now = runtime::cgroup_oom_kills(state.cgroup);
  auto fresh = now > state.oom_kills;
  state.oom_kills = now; // fewer: the cgroup was made anew
  return fresh;
}

component_failure process_actor::exit_failure(int code, int signal) {
  component_failure f;
  f.pid = state.pid;
  f.code = code;
  f.signal = signal;
  auto oom = oom_killed();
  f.mode = exit_mode(signal, code, addr_in_use(), oom);
  f.detail = describe_exit(code, signal);
  if (oom && signal == SIGKILL)
    f.detail += " (out of memory: limits.memory "
                + config::format_size(memory_limit()->value) + ")";
  return f;
}

bool process_actor::addr_in_use() const {
  return state.started_ns > 0 && state.addr_in_use->load() >= state.started_ns;
}

void process_actor::spawn_failed(int error, const std::string& why,
                                 bool sandbox) {
  auto stopped = step(state.fsm, child_event::spawn_failed)
                 == child_effect::report_stopped;
  component_failure what;
  what.code = error;
  what.detail = why;
  auto short_of = runtime::shortage(error);
  if (!short_of.empty())
    what.detail += " (grace is short of " + short_of + ")";
  // A shortage retried for minutes is said once; any other failure, each
  // time (the intensity ends it soon).
  if (short_of.empty() || what.detail != state.last_spawn_failure) {
    spdlog::error("{}: {}{}", state.spec.path, what.detail,
                  short_of.empty() ? ""
                                   : "; tried again after its backoff, not "
                                     "counted against the intensity");
    state.last_spawn_failure = what.detail;
    state.spawn_failures_alike = 0;
  } else {
    ++state.spawn_failures_alike; // said already
  }
  what.mode = sandbox ? config::failure_mode::sandbox_failed
                      : config::failure_mode::spawn_failed;
  send_report(report(stopped ? report_kind::stopped : report_kind::spawn_failed,
                     std::move(what)));
}

void process_actor::exited(int code, int signal, std::int64_t seen_ns) {
  cancel_readiness();
  pause_monitors();
  auto stopped
    = step(state.fsm, child_event::exited) == child_effect::report_stopped;
  auto what = exit_failure(code, signal);
  if (state.fsm.ready_timed_out) {
    what.mode = config::failure_mode::ready_timeout;
    what.detail
      = "not ready within " + config::format_duration(state.spec.ready.within);
  }
  // Report first: the restart must not wait for the log line.
  auto path = state.spec.path;
  auto detail = what.detail;
  auto r = report(stopped ? report_kind::stopped : report_kind::exited,
                  std::move(what));
  r.at_ns = seen_ns;
  auto failed = signal || code != 0 || state.fsm.ready_timed_out;
  send_report(std::move(r));
  if (stopped)
    spdlog::info("{}: stopped ({})", path, detail);
  else if (failed)
    spdlog::warn("{}: {}", path, detail);
  else
    spdlog::info("{}: {}", path, detail);
}

void process_actor::stop() {
  revoke();
  pause_monitors();
  switch (step(state.fsm, child_event::stop)) {
    case child_effect::report_stopped: // stopped, or blocked by a port
      send_report(report(report_kind::stopped));
      return;
    case child_effect::begin_stop:
      begin_stop();
      return;
    default: // spawning (the stop follows the spawn), or stopping already
      return;
  }
}

void process_actor::begin_stop() {
  cancel_readiness();
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

} // namespace grace::actors::detail

namespace grace::actors {

using detail::process_actor;

caf::actor spawn_process_actor(caf::event_based_actor* supervisor,
                               const config::child_spec& spec,
                               node_context_ptr ctx) {
  return supervisor->spawn<process_actor, caf::monitored>(
    spec, std::move(ctx), caf::actor_cast<caf::actor>(supervisor));
}

} // namespace grace::actors
