#include "runtime/port_holder.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <dirent.h>
#include <unistd.h>

namespace grace::runtime {

namespace {

std::string read_all(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ')
      ++i;
    auto j = i;
    while (j < line.size() && line[j] != ' ')
      ++j;
    if (j > i)
      out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

std::optional<std::uint64_t> hex(std::string_view s) {
  std::uint64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  if (r.ec != std::errc{} || r.ptr != s.data() + s.size())
    return std::nullopt;
  return v;
}

std::optional<std::uint64_t> dec(std::string_view s) {
  std::uint64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc{} || r.ptr != s.data() + s.size())
    return std::nullopt;
  return v;
}

} // namespace

std::vector<std::uint64_t> listening_inodes(std::string_view text,
                                            std::uint16_t port) {
  std::vector<std::uint64_t> inodes;
  std::size_t pos = 0;
  bool header = true;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    auto line
      = text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (header) {
      header = false; // "  sl  local_address rem_address   st ..."
      continue;
    }
    auto w = words(line);
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
    if (w.size() < 10 || w[3] != "0A") // 0A: LISTEN
      continue;
    auto colon = w[1].rfind(':');
    if (colon == std::string_view::npos)
      continue;
    auto p = hex(w[1].substr(colon + 1));
    auto inode = dec(w[9]);
    if (p && inode && *p == port && *inode != 0)
      inodes.push_back(*inode);
  }
  return inodes;
}

std::string port_holder::command() const {
  std::string out;
  for (auto& a : argv)
    out += (out.empty() ? "" : " ") + a;
  return out;
}

namespace {

std::vector<std::uint64_t> inodes_on(std::uint16_t port) {
  std::vector<std::uint64_t> inodes;
  for (auto* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    auto found = listening_inodes(read_all(table), port);
    inodes.insert(inodes.end(), found.begin(), found.end());
  }
  return inodes;
}

// Splits NUL-separated /proc text (cmdline, environ).
std::vector<std::string> nul_split(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\0', start);
    if (end == std::string::npos)
      end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

} // namespace

bool port_listened(std::uint16_t port) {
  return !inodes_on(port).empty();
}

std::optional<port_holder> find_port_holder(std::uint16_t port) {
  auto inodes = inodes_on(port);
  if (inodes.empty())
    return std::nullopt;
  std::vector<std::string> wanted;
  for (auto i : inodes)
    wanted.push_back("socket:[" + std::to_string(i) + "]");
  auto* proc = ::opendir("/proc");
  if (!proc)
    return std::nullopt;
  std::optional<port_holder> holder;
  while (auto* e = ::readdir(proc)) {
    auto pid = dec(e->d_name);
    if (!pid)
      continue;
    auto dir = "/proc/" + std::string{e->d_name};
    auto* fds = ::opendir((dir + "/fd").c_str());
    if (!fds)
      continue; // gone, or not ours to read
    while (auto* f = ::readdir(fds)) {
      if (f->d_name[0] == '.')
        continue;
      char link[64];
      auto n
        = ::readlink((dir + "/fd/" + f->d_name).c_str(), link, sizeof link - 1);
      if (n <= 0)
        continue;
      std::string_view target{link, static_cast<std::size_t>(n)};
      if (std::find(wanted.begin(), wanted.end(), target) == wanted.end())
        continue;
      port_holder h;
      h.pid = static_cast<int>(*pid);
      char exe[4096];
      auto m = ::readlink((dir + "/exe").c_str(), exe, sizeof exe - 1);
      if (m > 0)
        h.exe.assign(exe, static_cast<std::size_t>(m));
      h.argv = nul_split(read_all(dir + "/cmdline"));
      for (auto& kv : nul_split(read_all(dir + "/environ")))
        if (kv.starts_with("GRACE_COMPONENT="))
          h.component = kv.substr(16);
      holder = std::move(h);
      break;
    }
    ::closedir(fds);
    if (holder)
      break;
  }
  ::closedir(proc);
  return holder;
}

} // namespace grace::runtime
