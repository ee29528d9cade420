#include "actors/monitor.hpp"

#include <cstring>

#include <spdlog/spdlog.h>

#include "actors/messages.hpp"
#include "config/units.hpp"
#include "runtime/ewma.hpp"
#include "runtime/io_loop.hpp"
#include "runtime/log_follow.hpp"
#include "runtime/log_watch.hpp"
#include "runtime/output.hpp"
#include "runtime/probes.hpp"

namespace grace::actors {

namespace {

/// A log probe's `tail -F`, owned by the I/O thread.
struct follower_holder {
  std::shared_ptr<runtime::file_follower> follower;
};

struct monitor_state {
  static inline const char* name = "grace.monitor";
  config::probe_spec probe;
  std::string path;
  runtime::spawn_options exec; // exec checks: the child's environment
  node_context_ptr ctx;
  caf::actor child;
  caf::actor supervisor;
  bool paused = true;
  bool in_flight = false;
  std::string health;      // as last told to the component's actor
  std::uint64_t run = 0;   // checks started
  std::uint64_t ticks = 0; // the schedule's generation
  int consecutive = 0;     // failures in a row
  std::int64_t first_failed_ns = 0;
  bool raised = false;
  // Fresh checks asked for (verification): answered by the first check
  // started after the request.
  std::vector<caf::response_promise> waiting;
  std::uint64_t fresh_from = 0; // answer with a check run >= this
  // Heartbeats: the deadline for the next WATCHDOG=1.
  std::uint64_t beats = 0;
  int pid = 0;     // the component's process, while it is ready
  int cgroup = -1; // its cgroup (a directory descriptor), if it has one
  // What file and resource checks remember between runs (I/O thread only).
  std::shared_ptr<runtime::file_memory> file_memory
    = std::make_shared<runtime::file_memory>();
  std::shared_ptr<runtime::resource_memory> resource_memory;
  std::shared_ptr<runtime::kpi_memory> kpi_memory
    = std::make_shared<runtime::kpi_memory>();
  // Anomaly probes watching this one's measured values; and, for an
  // anomaly probe, the statistics of the values it watches.
  std::vector<caf::actor> subscribers;
  runtime::ewma_detector detector;
  std::shared_ptr<follower_holder> follow;
  std::string status_text; // the component's last sd_notify STATUS=

  monitor_state() = default;
  monitor_state(const monitor_state&) = delete;
  monitor_state& operator=(const monitor_state&) = delete;

  // Runs in on_exit, while the I/O loop is certainly alive.
  ~monitor_state() {
    if (!follow || !ctx)
      return;
    ctx->io->post([holder = std::move(follow)] {
      if (holder->follower)
        holder->follower->stop();
      holder->follower.reset();
    });
  }
};

using beat_timer = caf::atom_constant<caf::atom("beatto")>;
using begin_timer = caf::atom_constant<caf::atom("probebegin")>;

class monitor_actor : public caf::stateful_actor<monitor_state> {
public:
  monitor_actor(caf::actor_config& cfg, config::probe_spec probe,
                std::string path, runtime::spawn_options exec,
                node_context_ptr ctx, caf::actor child, caf::actor supervisor,
                std::shared_ptr<follower_holder> follow)
      : caf::stateful_actor<monitor_state>(cfg) {
    state.follow = std::move(follow);
    state.probe = std::move(probe);
    state.path = std::move(path);
    state.exec = std::move(exec);
    state.ctx = std::move(ctx);
    state.child = std::move(child);
    state.supervisor = std::move(supervisor);
  }

  caf::behavior make_behavior() override {
    log_stray_messages(this);
    return {
      [this](pause_atom) {
        health("paused");
        state.paused = true;
        ++state.ticks; // the schedule stops
        ++state.beats;
        reset();
      },
      [this](unpause_atom, int pid, int cgroup) {
        if (!state.paused)
          return;
        state.pid = pid;
        state.cgroup = cgroup;
        health("pending");
        // An initial delay keeps it paused (nothing checked, nothing a
        // passive probe sees counted) until the delay is over.
        if (auto delay = state.probe.initial_delay) {
          delayed_send(this, *delay, begin_timer::value, ++state.ticks);
          return;
        }
        begin(false);
      },
      [this](begin_timer, std::uint64_t ticks) {
        if (ticks == state.ticks && state.paused)
          begin(true);
      },
      [this](watchdog_atom) {
        for (auto& rp : state.waiting)
          rp.deliver(true, std::string{});
        state.waiting.clear();
        if (state.paused)
          return;
        if (state.raised)
          spdlog::info("{}: heartbeat is back", state.path);
        health("ok");
        reset();
        arm_beat();
      },
      [this](beat_timer, std::uint64_t beats) {
        if (beats != state.beats || state.paused)
          return;
        probe_outcome o;
        o.run = ++state.run;
        o.mode = config::failure_mode::heartbeat_missed;
        o.detail = "no WATCHDOG=1 within "
                   + config::format_duration(heartbeat()->within);
        o.started_ns = steady_ns();
        arm_beat();
        checked(o);
      },
      [this](tick_atom, std::uint64_t ticks) {
        if (ticks != state.ticks || state.paused)
          return;
        schedule(ticks);
        if (!state.in_flight)
          start_check();
      },
      [this](const probe_outcome& r) { checked(r); },
      [this](status_atom, const std::string& text) {
        state.status_text = text;
      },
      [this](subscribe_atom, const caf::actor& anomaly) {
        state.subscribers.push_back(anomaly);
      },
      [this](value_atom, double x) {
        if (state.paused || !anomaly())
          return;
        auto& a = *anomaly();
        auto z = state.detector.observe(x);
        probe_outcome o;
        o.run = ++state.run;
        o.has_value = true;
        o.value = x;
        o.started_ns = steady_ns();
        o.ok = true;
        if (z
            && state.detector.samples()
                 > static_cast<std::uint64_t>(a.min_samples)
            && *z > a.z) {
          char buf[160];
          std::snprintf(
            buf, sizeof buf,
            "%g is %.1f standard deviations from its mean of %g "
            "(z > %g, %llu samples)",
            x, *z, state.detector.mean(), a.z,
            static_cast<unsigned long long>(state.detector.samples() - 1));
          o.ok = false;
          o.mode = config::failure_mode::event_anomaly;
          o.detail = "probe " + a.of.name + ": " + buf;
        }
        checked(o);
      },
      [this](check_atom) -> caf::result<bool, std::string> {
        auto rp = make_response_promise<bool, std::string>();
        state.waiting.push_back(rp);
        state.fresh_from = state.run + 1;
        // A heartbeat's fresh check is the next WATCHDOG=1; a log probe
        // passes while no burst of matching lines comes.
        if (passive()) {
          rp.deliver(true, std::string{});
          state.waiting.pop_back();
        } else if (!heartbeat() && !state.in_flight) {
          start_check();
        }
        return rp;
      },
    };
  }

private:
  // Log and anomaly probes have no check of their own to run: they pass
  // unless lines or values arrive that make them fail.
  bool passive() const {
    return std::holds_alternative<config::log_probe>(state.probe.check)
           || anomaly();
  }

  const config::anomaly_probe* anomaly() const {
    return std::get_if<config::anomaly_probe>(&state.probe.check);
  }

  const config::heartbeat_probe* heartbeat() const {
    return std::get_if<config::heartbeat_probe>(&state.probe.check);
  }

  // Starts watching the ready component: the first check `every` from now,
  // or at once (`now`, after an initial delay); a heartbeat's first
  // deadline `within` from now.
  void begin(bool now) {
    state.paused = false;
    // A new process: its CPU time starts from scratch.
    state.resource_memory = std::make_shared<runtime::resource_memory>();
    reset();
    if (heartbeat()) {
      arm_beat();
    } else if (!passive()) {
      schedule(++state.ticks);
      if (now && !state.in_flight)
        start_check();
    }
  }

  void arm_beat() {
    delayed_send(this, heartbeat()->within, beat_timer::value, ++state.beats);
  }

  void reset() {
    state.consecutive = 0;
    state.first_failed_ns = 0;
    state.raised = false;
  }

  void schedule(std::uint64_t ticks) {
    delayed_send(this, state.probe.every, tick_atom::value, ticks);
  }

  void start_check() {
    state.in_flight = true;
    auto run = ++state.run;
    auto self = caf::actor_cast<caf::actor>(this);
    auto started = steady_ns();
    auto report = [self, run, started](runtime::probe_result r) {
      probe_outcome o;
      o.run = run;
      o.ok = r.ok;
      o.mode = std::move(r.mode);
      o.detail = std::move(r.detail);
      o.output = std::move(r.output);
      o.has_value = r.value.has_value();
      o.value = r.value.value_or(0);
      o.started_ns = started;
      caf::anon_send(self, std::move(o));
    };
    auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
      state.probe.timeout);
    auto& io = *state.ctx->io;
    if (auto* tcp = std::get_if<config::tcp_probe>(&state.probe.check)) {
      io.post([&io, host = tcp->host, port = tcp->port, timeout, report] {
        runtime::probe_tcp(io, host, port, timeout, report);
      });
    } else if (auto* web
               = std::get_if<config::http_probe>(&state.probe.check)) {
      io.post([&io, h = *web, timeout, report] {
        runtime::probe_http(io, h.host, h.port, h.target, h.expect_min,
                            h.expect_max, timeout, report);
      });
    } else if (auto* file
               = std::get_if<config::file_probe>(&state.probe.check)) {
      io.post([f = *file, memory = state.file_memory, report] {
        std::optional<std::chrono::nanoseconds> max_age;
        if (f.max_age)
          max_age = *f.max_age;
        runtime::probe_file(f.path, max_age, f.monotonic, *memory, report);
      });
    } else if (auto* res
               = std::get_if<config::resource_probe>(&state.probe.check)) {
      runtime::resource_limits limits;
      limits.max_rss = res->max_rss;
      limits.max_cpu = res->max_cpu;
      limits.max_fds = res->max_fds;
      limits.sustained = res->sustained;
      io.post([pid = state.pid, cgroup = state.cgroup, limits,
               memory = state.resource_memory, report] {
        runtime::probe_resource(pid, cgroup, limits, *memory, report);
      });
    } else if (auto* kpi = std::get_if<config::kpi_probe>(&state.probe.check)) {
      runtime::kpi_rule rule;
      rule.json_pointer = kpi->json_pointer;
      rule.above = kpi->above;
      rule.below = kpi->below;
      rule.sustained = kpi->sustained;
      auto judged
        = [rule, memory = state.kpi_memory, report](runtime::probe_result raw) {
            report(runtime::judge_kpi(std::move(raw), rule, *memory));
          };
      if (kpi->argv.empty()) {
        io.post([&io, h = kpi->http, timeout, judged] {
          runtime::probe_http(io, h.host, h.port, h.target, 200, 299, timeout,
                              judged);
        });
      } else {
        auto opts = state.exec;
        opts.argv = kpi->argv;
        opts.executable.clear();
        io.post([&io, opts = std::move(opts), timeout, judged]() mutable {
          runtime::probe_exec(io, std::move(opts), timeout, judged);
        });
      }
    } else if (auto* exec
               = std::get_if<config::exec_probe>(&state.probe.check)) {
      auto opts = state.exec;
      opts.argv = exec->argv;
      opts.executable.clear();
      io.post([&io, opts = std::move(opts), timeout, report]() mutable {
        runtime::probe_exec(io, std::move(opts), timeout, report);
      });
    } else {
      // Can't happen: unsupported kinds are refused before the tree runs.
      spdlog::error("{}: probe {} of kind {} cannot run", state.path,
                    state.probe.name, to_string(state.probe.kind));
      state.in_flight = false;
    }
  }

  // Tells the component's actor how this probe fares (`grace status`),
  // when that changes.
  void health(const std::string& now) {
    if (now == state.health)
      return;
    state.health = now;
    send(state.child, health_atom::value, state.probe.name, now);
  }

  void checked(const probe_outcome& r) {
    state.in_flight = false;
    if (state.ctx->metrics && r.started_ns > 0 && !passive())
      state.ctx->metrics->probe_checked(
        state.path, state.probe.name,
        static_cast<double>(steady_ns() - r.started_ns) / 1e9);
    // Verification first: the first check started after the request.
    // Heartbeats and passive probes answer it elsewhere (a beat; at once).
    if (!heartbeat() && !passive() && !state.waiting.empty()) {
      if (r.run >= state.fresh_from) {
        for (auto& rp : state.waiting)
          rp.deliver(r.ok, r.ok ? std::string{} : r.detail);
        state.waiting.clear();
      } else {
        start_check(); // the one in flight was older than the request
      }
    }
    if (state.paused)
      return;
    if (r.has_value)
      for (auto& a : state.subscribers)
        send(a, value_atom::value, r.value);
    if (r.ok) {
      health("ok");
      if (state.raised)
        spdlog::info("{}: probe {} passes again", state.path, state.probe.name);
      else
        spdlog::debug("{}: probe {} passes", state.path, state.probe.name);
      reset();
      return;
    }
    if (state.consecutive++ == 0)
      state.first_failed_ns = r.started_ns;
    health("failing " + std::to_string(state.consecutive) + "/"
           + std::to_string(state.probe.failures));
    spdlog::debug("{}: probe {} failed ({} of {}): {}", state.path,
                  state.probe.name, state.consecutive, state.probe.failures,
                  r.detail);
    if (state.raised || state.consecutive < state.probe.failures)
      return;
    state.raised = true;
    failure_report f;
    f.path = state.path;
    f.probe = state.probe.name;
    f.what.mode = r.mode;
    f.what.pid = state.pid;
    f.what.detail = "probe " + state.probe.name + ": " + r.detail;
    f.what.output = r.output;
    f.what.failed_ns = state.first_failed_ns;
    if (state.probe.severity)
      f.severity = *state.probe.severity;
    f.status_text = state.status_text;
    f.at_ns = steady_ns();
    f.child = state.child;
    f.supervisor = state.supervisor;
    f.state = instance_state::running;
    spdlog::warn("{}: {}", state.path, f.what.detail);
    // Through the process actor, which drops it if the instance has gone
    // meanwhile (its exit came first: that is the failure).
    if (state.child)
      send(state.child, std::move(f));
    else if (state.ctx->coordinator)
      send(state.ctx->coordinator, std::move(f));
  }
};

// A log probe matches the component's output lines on the I/O thread as
// they are written; a burst reports to the monitor as one failed check.
void watch_log(caf::actor monitor, const config::log_probe& probe,
               runtime::io_loop& io, std::shared_ptr<runtime::output_sink> out,
               std::shared_ptr<runtime::output_sink> err,
               std::shared_ptr<follower_holder> follow) {
  io.post([&io, monitor, probe, out, err, follow] {
    auto watch = std::make_shared<runtime::log_watch>(
      probe.pattern, probe.count, probe.window);
    auto tap = [monitor, watch](std::string_view line) {
      auto now = runtime::log_watch::clock_type::now();
      if (auto hit = watch->feed(line, now)) {
        probe_outcome o;
        o.mode = config::failure_mode::log_pattern;
        o.detail = std::move(*hit);
        o.output = std::string{line.substr(0, 4096)};
        o.started_ns = steady_ns();
        caf::anon_send(monitor, std::move(o));
      }
    };
    using source = config::log_probe::source;
    if (probe.from == source::file) {
      follow->follower = runtime::file_follower::start(io, probe.file, tap);
      if (!follow->follower)
        spdlog::error("cannot follow {}: {}", probe.file, std::strerror(errno));
      return;
    }
    if (probe.from == source::out || probe.from == source::both)
      out->add_line_tap(tap);
    if (probe.from == source::err || probe.from == source::both)
      err->add_line_tap(tap);
  });
}

} // namespace

caf::actor spawn_monitor(caf::event_based_actor* child, const std::string& path,
                         const config::probe_spec& probe,
                         runtime::spawn_options exec, node_context_ptr ctx,
                         caf::actor supervisor,
                         std::shared_ptr<runtime::output_sink> out,
                         std::shared_ptr<runtime::output_sink> err) {
  auto follow = std::make_shared<follower_holder>();
  auto m = child->spawn<monitor_actor, caf::linked>(
    probe, path, std::move(exec), ctx, caf::actor_cast<caf::actor>(child),
    std::move(supervisor), follow);
  if (auto* log = std::get_if<config::log_probe>(&probe.check))
    watch_log(m, *log, *ctx->io, std::move(out), std::move(err), follow);
  return m;
}

} // namespace grace::actors
