#include "runtime/proc_stat.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include "runtime/cgroup.hpp"

namespace grace::runtime {

namespace fs = std::filesystem;

namespace {

std::string read_small(const std::string& path) {
  std::ifstream in{path};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<std::uint64_t> number(std::string_view s) {
  std::uint64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc{})
    return std::nullopt;
  return v;
}

// Splits on spaces.
std::vector<std::string_view> fields(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n'))
      ++i;
    auto j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\n')
      ++j;
    if (j > i)
      out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

} // namespace

std::optional<std::uint64_t> parse_stat_cpu(std::string_view stat) {
  auto close = stat.rfind(')');
  if (close == std::string_view::npos)
    return std::nullopt;
  // After "(comm)": state(3) ppid(4) ... utime(14) stime(15).
  auto f = fields(stat.substr(close + 1));
  if (f.size() < 13)
    return std::nullopt;
  auto utime = number(f[11]);
  auto stime = number(f[12]);
  if (!utime || !stime)
    return std::nullopt;
  return *utime + *stime;
}

std::optional<std::uint64_t> parse_statm_resident(std::string_view statm) {
  auto f = fields(statm);
  if (f.size() < 2)
    return std::nullopt;
  return number(f[1]);
}

std::vector<int> process_tree(int pid) {
  std::vector<int> tree{pid};
  for (std::size_t i = 0; i < tree.size() && tree.size() < 100'000; ++i) {
    std::error_code ec;
    auto tasks = "/proc/" + std::to_string(tree[i]) + "/task";
    for (auto& t : fs::directory_iterator{tasks, ec}) {
      std::istringstream children{read_small(t.path().string() + "/children")};
      for (int c = 0; children >> c;)
        if (std::find(tree.begin(), tree.end(), c) == tree.end())
          tree.push_back(c);
    }
  }
  return tree;
}

std::optional<tree_usage> sample_tree(int pid, int cgroup) {
  if (pid <= 0)
    return std::nullopt;
  std::vector<int> members{pid}; // first: its absence means it is gone
  if (cgroup >= 0)
    for (auto p : cgroup_pids_at(cgroup)) {
      if (p != pid)
        members.push_back(p);
    }
  else
    members = process_tree(pid);
  auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  tree_usage u;
  for (auto p : members) {
    auto dir = "/proc/" + std::to_string(p);
    auto stat = read_small(dir + "/stat");
    auto cpu = parse_stat_cpu(stat);
    if (!cpu) {
      if (p == pid)
        return std::nullopt; // gone
      continue;              // a descendant that just ended
    }
    u.cpu_ticks += *cpu;
    u.rss_bytes
      += parse_statm_resident(read_small(dir + "/statm")).value_or(0) * page;
    std::error_code ec;
    for (auto it = fs::directory_iterator{dir + "/fd", ec};
         !ec && it != fs::directory_iterator{}; it.increment(ec))
      ++u.fds;
    ++u.processes;
  }
  return u;
}

long clock_ticks_per_second() {
  static const long ticks = ::sysconf(_SC_CLK_TCK);
  return ticks;
}

std::optional<file_version> parse_version(std::string_view content) {
  auto end = content.find('\n');
  auto line = content.substr(0, end);
  while (!line.empty()
         && (line.back() == ' ' || line.back() == '\r' || line.back() == '\t'))
    line.remove_suffix(1);
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
    line.remove_prefix(1);
  file_version v;
  v.text = std::string{line};
  if (!line.empty() && (line.front() == 'v' || line.front() == 'V'))
    line.remove_prefix(1);
  if (line.empty())
    return std::nullopt;
  // A plain number (may have a fraction), or dot-separated integers.
  if (std::count(line.begin(), line.end(), '.') <= 1) {
    double d = 0;
    auto r = std::from_chars(line.data(), line.data() + line.size(), d);
    if (r.ec == std::errc{} && r.ptr == line.data() + line.size()) {
      // "1.10" read as a number would be smaller than "1.9": only a
      // version with a single dot and no leading 'v' is a number.
      if (v.text.front() != 'v' && v.text.front() != 'V') {
        v.parts.push_back(d);
        return v;
      }
    }
  }
  std::size_t i = 0;
  while (i <= line.size()) {
    auto dot = line.find('.', i);
    auto part
      = line.substr(i, dot == std::string_view::npos ? line.npos : dot - i);
    auto n = number(part);
    if (!n)
      return std::nullopt;
    v.parts.push_back(static_cast<double>(*n));
    if (dot == std::string_view::npos)
      break;
    i = dot + 1;
  }
  return v;
}

bool older(const file_version& a, const file_version& b) {
  auto n = std::max(a.parts.size(), b.parts.size());
  for (std::size_t i = 0; i < n; ++i) {
    auto x = i < a.parts.size() ? a.parts[i] : 0.0;
    auto y = i < b.parts.size() ? b.parts[i] : 0.0;
    if (x != y)
      return x < y;
  }
  return false;
}

} // namespace grace::runtime
