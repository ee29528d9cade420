// Starting and stopping one OS process: vfork + exec through Boost.Process
// v2, in its own process group (and straight into its cgroup, clone3), with
// PR_SET_PDEATHSIG so it dies with grace, resource limits, an optional user,
// and a pidfd to learn of its exit without polling. The only file that includes
// Boost.Process.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "runtime/exit_status.hpp"
#include "runtime/unique_fd.hpp"

namespace grace::runtime {

class io_loop;

/// One setrlimit(2) applied in the child before exec.
struct resource_limit {
  int resource = 0; // RLIMIT_*
  std::uint64_t value = 0;
  bool unlimited = false;
};

/// What to start and how.
struct spawn_options {
  /// argv[0] is a path, or a name looked up in PATH.
  std::vector<std::string> argv;
  /// The program to run, if already resolved (find_executable); else
  /// argv[0] is looked up at each spawn.
  std::string executable;
  /// The complete environment, `NAME=value`.
  std::vector<std::string> env;
  /// Working directory; empty = grace's.
  std::string cwd;
  /// User name or uid to run as; needs grace to run as root.
  std::optional<std::string> user;
  std::vector<resource_limit> limits;
  /// Descriptors for the child's stdout and stderr; -1 = /dev/null.
  int stdout_fd = -1;
  int stderr_fd = -1;
  /// A directory descriptor of the cgroup the child starts in (cgroup.hpp);
  /// -1 = grace's own. Not owned.
  int cgroup = -1;
  /// memory.max for that cgroup (limits.memory), set before each start (a
  /// cgroup made anew after cgroup.kill has none).
  std::optional<std::uint64_t> memory_max;
};

/// Why a process could not be started.
struct spawn_failure {
  int error = 0;       // errno
  std::string message; // e.g. "cannot execute '/x': No such file or directory"
  /// Its confinement (cgroup, user, limits, directory) could not be set up;
  /// false: the program itself could not be run.
  bool sandbox = false;
};

/// Returns what a start that failed with `error` was short of, if it is a
/// resource of grace's or of the machine's rather than the program's fault
/// (EMFILE: "descriptors (its limit: 128)", ENFILE: the system's, EAGAIN:
/// processes); "" otherwise. Such a start is retried. (ENOMEM is not one:
/// an execve under the component's own `limits.as` fails with it.)
std::string shortage(int error);

/// Whether shortage(`error`) names something (without building its text).
bool is_shortage(int error) noexcept;

/// A started process. Its process group id is its pid.
struct child_process {
  int pid = -1;
  unique_fd pidfd; // readable once the process has exited
};

/// The outcome of spawn().
using spawn_result = std::variant<child_process, spawn_failure>;

/// Starts a process. Blocks the caller only until the child has exec'd (or
/// failed to). The process is not reaped: wait for it with watch_exit().
spawn_result spawn(const spawn_options& opts);

/// Calls `on_exit` on the I/O thread once the process behind `pidfd` has
/// exited, after killing what is left of its process group and reaping it;
/// with a `cgroup` (a directory descriptor, not owned), once what was left
/// in it is killed and gone too. Call on the I/O thread.
void watch_exit(io_loop& loop, int pid, unique_fd pidfd,
                std::function<void(int pid, exit_status)> on_exit,
                int cgroup = -1);

/// Kills a component's process group `pgid` and, given one, every process
/// in its `cgroup` (a directory descriptor).
void kill_component(int pgid, int cgroup) noexcept;

/// Stops process `pid`, which need not be grace's child: `signal` and
/// SIGCONT, then SIGKILL if it still runs after `patience`. Calls
/// `done(gone)` on the I/O thread once it has exited (`gone`), or when it
/// outlived SIGKILL by a second. Call on the I/O thread.
void stop_process(io_loop& loop, int pid, int signal,
                  std::chrono::milliseconds patience,
                  std::function<void(bool gone)> done);

/// Sends `signal` to the process group `pgid`. Returns false (errno set) if
/// the group no longer exists.
bool signal_group(int pgid, int signal) noexcept;

/// Returns whether `pid` is a child spawn() started and watch_exit() has
/// not reaped yet (the orphan reaper leaves those alone).
bool is_tracked(int pid);

/// Finds `name` in the PATH of `env` (or grace's PATH); returns the path, or
/// "" if there is no such executable.
std::string find_executable(const std::string& name,
                            const std::vector<std::string>& env);

} // namespace grace::runtime
