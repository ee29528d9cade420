// Small /proc helpers for tests: is a process alive (not a zombie), read a
// file written by a child, what a process holds (descriptors, memory).
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <signal.h>
#include <sys/resource.h>

namespace grace::test {

/// Raises this process's descriptor limit (and its children's) to `want`,
/// or to the hard limit if lower; returns the limit now in force.
inline rlim_t raise_open_files(rlim_t want) {
  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) != 0)
    return 0;
  nofile.rlim_cur = std::min(nofile.rlim_max, want);
  if (::setrlimit(RLIMIT_NOFILE, &nofile) != 0)
    return 0;
  return nofile.rlim_cur;
}

/// Returns true if `pid` exists and is not a zombie.
inline bool alive(int pid) {
  std::ifstream stat{"/proc/" + std::to_string(pid) + "/stat"};
  std::string line;
  if (!std::getline(stat, line))
    return false;
  auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size()
         && line[close + 2] != 'Z';
}

/// Returns the contents of `path`, or "".
inline std::string slurp(const std::string& path) {
  std::ifstream in{path};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Returns how many times `what` occurs in `text` (not overlapping).
inline std::size_t occurrences(const std::string& text,
                               const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos;
       at = text.find(what, at + what.size()))
    ++n;
  return n;
}

/// Returns the lines of the file at `path` (none if it cannot be read).
inline std::vector<std::string> lines_of(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in{path};
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

/// Returns how many descriptors `pid` holds open (-1 if it is gone).
inline long open_fds(int pid) {
  std::error_code ec;
  std::filesystem::directory_iterator it{"/proc/" + std::to_string(pid) + "/fd",
                                         ec};
  if (ec)
    return -1;
  return static_cast<long>(
    std::distance(it, std::filesystem::directory_iterator{}));
}

/// Returns the resident set of `pid` in KiB (0 if it is gone).
inline long rss_kib(int pid) {
  for (auto& line : lines_of("/proc/" + std::to_string(pid) + "/status"))
    if (line.starts_with("VmRSS:"))
      return std::stol(line.substr(6));
  return 0;
}

/// Kills `pid` with SIGKILL if it is still alive (cleanup in tests).
inline void kill_if_alive(int pid) {
  if (pid > 1 && alive(pid))
    ::kill(pid, SIGKILL);
}

} // namespace grace::test
