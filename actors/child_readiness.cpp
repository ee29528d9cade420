// The process actor (child_actor.hpp): readiness, its probes paused and
// resumed, and the verification of a healing.
#include <spdlog/spdlog.h>

#include "actors/child_actor.hpp"

namespace grace::actors::detail {

void process_actor::arm_readiness() {
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

void process_actor::cancel_readiness() {
  if (state.cancel_ready)
    state.cancel_ready->store(true);
  state.cancel_ready.reset();
}

void process_actor::pause_monitors() {
  for (auto& m : state.monitors)
    send(m, pause_atom::value);
}

void process_actor::verify(std::uint64_t id) {
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

void process_actor::ask_probe(std::uint64_t id, std::size_t k) {
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

void process_actor::probe_answered(std::uint64_t id, std::size_t k, bool ok,
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

void process_actor::answer_verification(std::uint64_t id, bool ok,
                                        const std::string& why) {
  auto it = state.verifications.find(id);
  if (it == state.verifications.end())
    return;
  it->second.rp.deliver(ok, why);
  state.verifications.erase(it);
}

void process_actor::became_ready() {
  if (step(state.fsm, child_event::ready) != child_effect::announce_ready)
    return; // not starting (stopping, say): too late
  cancel_readiness();
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

void process_actor::ready_timeout() {
  if (step(state.fsm, child_event::ready_timeout) != child_effect::kill)
    return;
  cancel_readiness();
  spdlog::warn("{}: not ready within {}, killing it", state.spec.path,
               config::format_duration(state.spec.ready.within));
  runtime::signal_group(state.pid, SIGKILL);
}

} // namespace grace::actors::detail
