#include "runtime/exit_status.hpp"

#include <csignal>

#include <sys/wait.h> // CLD_*

namespace grace::runtime {

exit_status exit_status::from_siginfo(int child_code, int child_status) {
  exit_status x;
  switch (child_code) {
    case CLD_EXITED:
      x.how = kind::exited;
      x.code = child_status;
      break;
    case CLD_DUMPED:
      x.core_dumped = true;
      [[fallthrough]];
    default: // CLD_KILLED
      x.how = kind::signaled;
      x.signal = child_status;
      break;
  }
  return x;
}

std::string signal_name(int signal) {
  switch (signal) {
    case SIGHUP:
      return "SIGHUP";
    case SIGINT:
      return "SIGINT";
    case SIGQUIT:
      return "SIGQUIT";
    case SIGILL:
      return "SIGILL";
    case SIGTRAP:
      return "SIGTRAP";
    case SIGABRT:
      return "SIGABRT";
    case SIGBUS:
      return "SIGBUS";
    case SIGFPE:
      return "SIGFPE";
    case SIGKILL:
      return "SIGKILL";
    case SIGUSR1:
      return "SIGUSR1";
    case SIGSEGV:
      return "SIGSEGV";
    case SIGUSR2:
      return "SIGUSR2";
    case SIGPIPE:
      return "SIGPIPE";
    case SIGALRM:
      return "SIGALRM";
    case SIGTERM:
      return "SIGTERM";
    case SIGCHLD:
      return "SIGCHLD";
    case SIGCONT:
      return "SIGCONT";
    case SIGSTOP:
      return "SIGSTOP";
    case SIGTSTP:
      return "SIGTSTP";
    case SIGXCPU:
      return "SIGXCPU";
    case SIGXFSZ:
      return "SIGXFSZ";
    case SIGSYS:
      return "SIGSYS";
    default:
      return "signal " + std::to_string(signal);
  }
}

std::string to_string(const exit_status& x) {
  if (x.how == exit_status::kind::exited)
    return "exited with code " + std::to_string(x.code);
  return "killed by " + signal_name(x.signal)
         + (x.core_dumped ? " (core dumped)" : "");
}

} // namespace grace::runtime
