#include "runtime/port_holder.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <dirent.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/unique_fd.hpp"

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
  // A process that retitles itself (nginx, redis, postgres) pads its title
  // with spaces or NULs over the rest of its argv.
  auto end = out.find_last_not_of(" \t");
  out.erase(end == std::string::npos ? 0 : end + 1);
  return out;
}

namespace {

// Asks the kernel for its listening TCP sockets of `family` through
// sock_diag (netlink), keeping those on `port`. Walks the listening table
// only: reading /proc/net/tcp walks every bucket of the connection table,
// milliseconds on a machine with much memory. False if netlink fails.
bool diag_listening(int family, std::uint16_t port,
                    std::vector<std::uint64_t>& out) {
  unique_fd fd{
    ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG)};
  if (!fd)
    return false;
  struct {
    nlmsghdr header;
    inet_diag_req_v2 body;
  } req{};
  req.header.nlmsg_len = sizeof req;
  req.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  req.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.body.sdiag_family = static_cast<std::uint8_t>(family);
  req.body.sdiag_protocol = IPPROTO_TCP;
  req.body.idiag_states = 1U << TCP_LISTEN;
  if (::send(fd.get(), &req, sizeof req, 0) != static_cast<ssize_t>(sizeof req))
    return false;
  char buf[16384];
  for (;;) {
    auto n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n <= 0)
      return false;
    // The NLMSG_* macros cast C-style: walk the messages by hand.
    std::size_t at = 0;
    auto size = static_cast<std::size_t>(n);
    while (at + sizeof(nlmsghdr) <= size) {
      nlmsghdr h;
      std::memcpy(&h, buf + at, sizeof h);
      if (h.nlmsg_len < sizeof h || at + h.nlmsg_len > size)
        return false;
      if (h.nlmsg_type == NLMSG_DONE)
        return true;
      if (h.nlmsg_type == NLMSG_ERROR)
        return false;
      inet_diag_msg m;
      if (h.nlmsg_len >= NLMSG_HDRLEN + sizeof m) {
        std::memcpy(&m, buf + at + NLMSG_HDRLEN, sizeof m);
        if (ntohs(m.id.idiag_sport) == port && m.idiag_inode != 0)
          out.push_back(m.idiag_inode);
      }
      at += NLMSG_ALIGN(h.nlmsg_len);
    }
  }
}

std::vector<std::uint64_t> inodes_on(std::uint16_t port) {
  std::vector<std::uint64_t> inodes;
  if (diag_listening(AF_INET, port, inodes)
      && diag_listening(AF_INET6, port, inodes))
    return inodes;
  inodes.clear(); // no sock_diag here: the slow way
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
  // Newest first: a stale instance is usually a recent process.
  std::vector<std::uint64_t> pids;
  if (auto* proc = ::opendir("/proc")) {
    while (auto* e = ::readdir(proc))
      if (auto pid = dec(e->d_name))
        pids.push_back(*pid);
    ::closedir(proc);
  }
  std::sort(pids.rbegin(), pids.rend());
  for (auto pid : pids) {
    auto dir = "/proc/" + std::to_string(pid);
    auto* fds = ::opendir((dir + "/fd").c_str());
    if (!fds)
      continue; // gone, or not ours to read
    std::optional<port_holder> holder;
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
      holder = describe_process(static_cast<int>(pid));
      break;
    }
    ::closedir(fds);
    if (holder)
      return holder;
  }
  return std::nullopt;
}

std::optional<port_holder> describe_process(int pid) {
  auto dir = "/proc/" + std::to_string(pid);
  port_holder h;
  h.pid = pid;
  auto stat = read_all(dir + "/stat");
  auto close = stat.rfind(')');
  if (stat.empty() || close == std::string::npos)
    return std::nullopt; // gone
  // "pid (comm) S ppid ...": the state, then the parent.
  h.ppid = std::atoi(stat.c_str() + std::min(close + 4, stat.size()));
  char exe[4096];
  auto m = ::readlink((dir + "/exe").c_str(), exe, sizeof exe - 1);
  if (m > 0)
    h.exe.assign(exe, static_cast<std::size_t>(m));
  struct stat st {};
  if (::stat((dir + "/exe").c_str(), &st) == 0) {
    h.exe_dev = st.st_dev;
    h.exe_ino = st.st_ino;
  }
  h.argv = nul_split(read_all(dir + "/cmdline"));
  for (auto& kv : nul_split(read_all(dir + "/environ")))
    if (kv.starts_with("GRACE_COMPONENT="))
      h.component = kv.substr(16);
  auto groups = read_all(dir + "/cgroup");
  for (std::size_t at = 0; at < groups.size();) {
    auto end = groups.find('\n', at);
    if (end == std::string::npos)
      end = groups.size();
    auto line = groups.substr(at, end - at);
    if (line.starts_with("0::"))
      h.cgroup = line.substr(3);
    at = end + 1;
  }
  return h;
}

bool runs_file(const port_holder& process, const std::string& path) {
  struct stat st {};
  return process.exe_ino != 0 && ::stat(path.c_str(), &st) == 0
         && st.st_dev == process.exe_dev && st.st_ino == process.exe_ino;
}

port_holder main_process(const port_holder& worker, int stop_at) {
  auto main = worker;
  // A few levels at most in practice; bounded against a cycle of pid reuse.
  for (int depth = 0; depth < 64; ++depth) {
    if (main.ppid <= 1 || main.ppid == stop_at)
      break;
    auto parent = describe_process(main.ppid);
    if (!parent || parent->exe_ino == 0 || parent->exe_ino != main.exe_ino
        || parent->exe_dev != main.exe_dev)
      break;
    main = std::move(*parent);
  }
  return main;
}

} // namespace grace::runtime
