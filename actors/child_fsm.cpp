#include "actors/child_fsm.hpp"

namespace grace::actors {

child_effect step(child_fsm& f, child_event e) {
  using p = child_phase;
  using ev = child_event;
  using fx = child_effect;
  auto go = [&](p to, fx what) {
    f.now = to;
    return what;
  };
  switch (f.now) {
    case p::stopped:
      if (e == ev::start) {
        f.stop_pending = f.ready_timed_out = false;
        return go(p::spawning, fx::spawn);
      }
      if (e == ev::stop)
        return fx::report_stopped;
      return fx::ignore;
    case p::blocked:
      switch (e) {
        case ev::start: // the port may be free now: look again
          return go(p::spawning, fx::spawn);
        case ev::stop:
          return go(p::stopped, fx::report_stopped);
        case ev::heal_failed:
          return go(p::stopped, fx::report_no_start);
        default:
          return fx::ignore;
      }
    case p::spawning:
      switch (e) {
        case ev::port_held:
          return go(p::blocked, fx::wait_for_port);
        case ev::spawned:
          if (f.stop_pending)
            return go(p::stopping, fx::begin_stop);
          return go(p::starting, fx::announce_started);
        case ev::spawn_failed:
          return go(p::stopped,
                    f.stop_pending ? fx::report_stopped : fx::report_no_start);
        case ev::stop:
          f.stop_pending = true;
          return fx::stop_after_spawn;
        default:
          return fx::ignore;
      }
    case p::starting:
    case p::running:
      switch (e) {
        case ev::ready:
          return f.now == p::starting ? go(p::running, fx::announce_ready)
                                      : fx::ignore;
        case ev::ready_timeout:
          if (f.now != p::starting)
            return fx::ignore;
          f.ready_timed_out = true;
          return fx::kill;
        case ev::exited:
          return go(p::stopped, fx::report_failure);
        case ev::respawned:
          f.ready_timed_out = false;
          return go(p::starting, fx::report_restarted);
        case ev::stop:
          return go(p::stopping, fx::begin_stop);
        default:
          return fx::ignore;
      }
    case p::stopping:
      switch (e) {
        case ev::exited:
          return go(p::stopped, fx::report_stopped);
        case ev::respawned: // the replacement goes too
          return fx::begin_stop;
        case ev::kill_timeout:
          return fx::kill;
        default:
          return fx::ignore;
      }
  }
  return fx::ignore;
}

std::string_view to_string(child_phase p) {
  switch (p) {
    case child_phase::stopped:
      return "stopped";
    case child_phase::blocked:
      return "blocked";
    case child_phase::spawning:
      return "spawning";
    case child_phase::starting:
      return "starting";
    case child_phase::running:
      return "running";
    case child_phase::stopping:
      return "stopping";
  }
  return "stopped";
}

std::string_view to_string(child_event e) {
  switch (e) {
    case child_event::start:
      return "start";
    case child_event::port_held:
      return "port_held";
    case child_event::spawned:
      return "spawned";
    case child_event::spawn_failed:
      return "spawn_failed";
    case child_event::ready:
      return "ready";
    case child_event::ready_timeout:
      return "ready_timeout";
    case child_event::exited:
      return "exited";
    case child_event::respawned:
      return "respawned";
    case child_event::stop:
      return "stop";
    case child_event::heal_failed:
      return "heal_failed";
    case child_event::kill_timeout:
      return "kill_timeout";
  }
  return "start";
}

} // namespace grace::actors
