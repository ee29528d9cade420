// grace's own signals: SIGTERM, SIGINT and SIGHUP become callbacks on the
// I/O thread (through a signalfd, so no code runs in a signal handler), and
// SIGCHLD reaps orphaned grandchildren that were re-parented to grace as a
// child subreaper.
#pragma once

#include <functional>
#include <memory>

namespace grace::runtime {

class io_loop;

/// Blocks the signals grace reads through its signalfd and ignores SIGPIPE.
/// Call first in main, before any thread starts, so every thread inherits
/// the mask (children get a clean mask in spawn()).
void block_signals();

/// Makes grace a child subreaper (PR_SET_CHILD_SUBREAPER): orphaned
/// descendants are re-parented to grace instead of init.
bool become_subreaper();

/// Reaps exited processes re-parented to grace that it does not track as
/// its own children; returns how many.
int reap_orphans();

/// Watches the blocked signals on the I/O thread.
class signal_watcher {
public:
  /// Calls `on_signal(signo)` on the I/O thread for SIGTERM, SIGINT and
  /// SIGHUP; SIGCHLD runs reap_orphans() shortly after (once per burst, off
  /// the restart path).
  signal_watcher(io_loop& loop, std::function<void(int)> on_signal);
  ~signal_watcher();

  signal_watcher(const signal_watcher&) = delete;
  signal_watcher& operator=(const signal_watcher&) = delete;

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

} // namespace grace::runtime
