// A process started in the background for end-to-end tests: output goes to
// files, the test signals it and waits for its exit with a deadline, and the
// destructor SIGKILLs it (by pid) if it is still running.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/proc.hpp"
#include "tests/support/wait_until.hpp"

namespace grace::test {

class background {
public:
  /// Starts `argv` with stdout/stderr redirected to `out` and `err`.
  background(const std::vector<std::string>& argv, const std::string& out,
             const std::string& err) {
    std::vector<char*> args;
    for (auto& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      auto o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      auto e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(o, 1);
      ::dup2(e, 2);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }

  ~background() {
    if (pid_ > 1 && !status_) {
      ::kill(pid_, SIGKILL);
      wait(std::chrono::seconds{5});
    }
  }

  background(const background&) = delete;
  background& operator=(const background&) = delete;

  int pid() const { return pid_; }

  void signal(int sig) {
    if (pid_ > 1 && !status_)
      ::kill(pid_, sig);
  }

  /// Waits for the exit; returns the exit code (128 + signal), or nullopt
  /// on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout) {
    if (status_)
      return status_;
    wait_until(
      [&] {
        int st = 0;
        auto r = ::waitpid(pid_, &st, WNOHANG);
        if (r == pid_)
          status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return status_.has_value();
      },
      timeout);
    return status_;
  }

private:
  int pid_ = -1;
  std::optional<int> status_;
};

} // namespace grace::test
