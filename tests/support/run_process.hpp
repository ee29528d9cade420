// Runs a program to completion and captures its output; for end-to-end tests
// of the `grace` executable. The child is always reaped; a child that outlives
// its deadline is killed (by pid) and reported as timed out.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace grace::test {

/// What a finished process left behind.
struct process_result {
  int exit_code = -1; // 128 + signal if killed by a signal
  bool timed_out = false;
  std::string out;
  std::string err;
};

/// Runs `argv` with stdin from /dev/null; waits at most patience(`timeout`).
process_result run_process(const std::vector<std::string>& argv,
                           std::chrono::milliseconds timeout
                           = std::chrono::seconds{20});

} // namespace grace::test
