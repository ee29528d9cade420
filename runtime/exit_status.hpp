// How a process ended: exited with a code, or killed by a signal. Built from
// waitid(2)'s siginfo or waitpid(2)'s status; rendered the way shells and
// tini report it (signal N -> 128 + N).
#pragma once

#include <string>

namespace grace::runtime {

/// The end of a process.
struct exit_status {
  enum class kind { exited, signaled };
  kind how = kind::exited;
  int code = 0;   // exit code, when exited
  int signal = 0; // signal number, when signaled
  bool core_dumped = false;

  /// Returns the status from waitid's si_code and si_status.
  static exit_status from_siginfo(int child_code, int child_status);

  /// Returns true for exit code 0.
  bool clean() const noexcept { return how == kind::exited && code == 0; }

  /// Returns the code a shell would report: the code, or 128 + signal.
  int shell_code() const noexcept {
    return how == kind::exited ? code : 128 + signal;
  }

  friend bool operator==(const exit_status&, const exit_status&) = default;
};

/// Returns "exited with code 3" or "killed by SIGSEGV (core dumped)".
std::string to_string(const exit_status& x);

/// Returns "SIGTERM" for 15, "signal 77" for unknown numbers.
std::string signal_name(int signal);

} // namespace grace::runtime
