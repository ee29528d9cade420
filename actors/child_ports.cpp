// The process actor (child_actor.hpp): ports held before a start, and
// free_port (SPEC.md section 5).
#include <spdlog/spdlog.h>

#include "actors/child_actor.hpp"
#include "actors/stale_instance.hpp"
#include "runtime/port_holder.hpp"

namespace grace::actors::detail {

bool process_actor::port_blocked() {
  for (auto port : state.spec.ports) {
    if (!runtime::port_listened(port))
      continue;
    auto holder = runtime::find_port_holder(port);
    failure_report f;
    f.path = state.spec.path;
    f.probe = "ports";
    f.what.mode = config::failure_mode::port_in_use;
    f.what.detail
      = "port " + std::to_string(port) + " is held by " + describe(holder);
    add_holder(f.what.fields, port, holder);
    f.at_ns = steady_ns();
    f.state = instance_state::blocked;
    f.child = caf::actor_cast<caf::actor>(this);
    f.supervisor = state.supervisor;
    spdlog::warn("{}: not started: {}", state.spec.path, f.what.detail);
    if (!state.ctx->coordinator) {
      // Nobody to heal it: a failed start, the supervisor's rules apply.
      send_report(report(report_kind::spawn_failed, std::move(f.what)));
      return true;
    }
    step(state.fsm, child_event::port_held);
    send(state.ctx->coordinator, std::move(f));
    return true;
  }
  return false;
}

void process_actor::free_ports(std::uint64_t id) {
  auto& f = state.freeings.at(id);
  for (auto port : state.spec.ports) {
    if (!runtime::port_listened(port))
      continue;
    auto holder = runtime::find_port_holder(port);
    if (holder
        && is_stale_instance(*holder, state.spec, state.ctx->containment.get(),
                             state.pid)) {
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
      finished.rp.deliver(false,
                          "port " + std::to_string(port) + " is held by "
                            + describe(holder) + ", not an instance of "
                            + state.spec.path
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

std::string
process_actor::describe(const std::optional<runtime::port_holder>& h) {
  if (!h)
    return "a process grace cannot see";
  return "pid " + std::to_string(h->pid) + " (" + h->command() + ")";
}

void process_actor::add_holder(note_fields& fields, std::uint16_t port,
                               const std::optional<runtime::port_holder>& h) {
  fields.numbers.emplace_back("port", port);
  if (!h)
    return;
  fields.numbers.emplace_back("holder_pid", h->pid);
  fields.texts.emplace_back("holder_cmd", h->command());
}

} // namespace grace::actors::detail
