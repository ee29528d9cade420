// What /proc says about a process and all its descendants: resident memory,
// CPU time and open descriptors, summed over the tree (a service that forks
// workers is judged as a whole). Plain functions over /proc, with the
// parsing separated so it can be tested on fixed text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace grace::runtime {

/// One sample of a process tree.
struct tree_usage {
  std::uint64_t rss_bytes = 0;
  std::uint64_t cpu_ticks = 0; // utime + stime, in clock ticks
  std::uint64_t fds = 0;
  std::size_t processes = 0;
};

/// Returns utime + stime (clock ticks) from the text of /proc/PID/stat, or
/// nothing if it does not parse. The command (field 2) may hold spaces and
/// parentheses: fields are counted from the last ')'.
std::optional<std::uint64_t> parse_stat_cpu(std::string_view stat);

/// Returns resident pages from the text of /proc/PID/statm.
std::optional<std::uint64_t> parse_statm_resident(std::string_view statm);

/// Returns `pid` and its descendants (through /proc/PID/task/*/children).
std::vector<int> process_tree(int pid);

/// Samples the tree of `pid`; nothing if `pid` is gone. With `cgroup` (a
/// directory descriptor of its component's cgroup), the tree is what is in
/// that cgroup: descendants that left it (a double fork, re-parented to
/// grace) count too.
std::optional<tree_usage> sample_tree(int pid, int cgroup = -1);

/// Returns the clock ticks per second (sysconf(_SC_CLK_TCK)).
long clock_ticks_per_second();

/// A version read from a file for `monotonic` checks: a number (`42`,
/// `1.5`) or a dotted version (`1.10.2`, an optional leading `v`).
struct file_version {
  std::vector<double> parts;
  std::string text;
};

/// Parses the first line of `content` as a version; nothing if it is not
/// one.
std::optional<file_version> parse_version(std::string_view content);

/// Returns true if `a` is older than `b` (part by part; 1.2 < 1.10).
bool older(const file_version& a, const file_version& b);

} // namespace grace::runtime
