#include "runtime/cgroup.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace grace::runtime {

namespace {

// The fields of one /proc/self/mountinfo line: 4 is the mount point, and
// the file system type follows the " - " separator.
std::vector<std::string> words(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in{line};
  for (std::string w; in >> w;)
    out.push_back(std::move(w));
  return out;
}

// mountinfo escapes blanks in paths as octal (\040).
std::string unescape(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      auto oct = s.substr(i + 1, 3);
      if (oct.find_first_not_of("01234567") == std::string::npos) {
        out += static_cast<char>(std::stoi(oct, nullptr, 8));
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

// A short, stable name for an absolute log_dir (FNV-1a, 64 bits).
std::string digest(const std::string& text) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

bool write_at(int dirfd, const char* file, const char* text) {
  int fd = ::openat(dirfd, file, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  auto len = std::strlen(text);
  auto ok = ::write(fd, text, len) == static_cast<ssize_t>(len);
  auto err = errno;
  ::close(fd);
  errno = err;
  return ok;
}

std::string read_text(const std::string& file) {
  std::ifstream in{file};
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool has_word(const std::string& text, const std::string& word) {
  auto all = words(text);
  return std::find(all.begin(), all.end(), word) != all.end();
}

bool write_file(const std::string& file, const std::string& text) {
  return write_at(AT_FDCWD, file.c_str(), text.c_str());
}

// Reads up to `size - 1` bytes of `file` under `dirfd` into `buf`, NUL
// terminated: the count read, 0 if none. No allocation (the exit path).
std::size_t read_at(int dirfd, const char* file, char* buf, std::size_t size) {
  int fd = ::openat(dirfd, file, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  auto n = ::read(fd, buf, size - 1);
  ::close(fd);
  auto got = n > 0 ? static_cast<std::size_t>(n) : 0;
  buf[got] = '\0';
  return got;
}

bool populated_dir(const std::string& dir) {
  unique_fd fd{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  return fd && cgroup_populated(fd.get());
}

} // namespace

std::string cgroup2_mount(const std::string& mountinfo) {
  std::ifstream in{mountinfo};
  for (std::string line; std::getline(in, line);) {
    auto sep = line.find(" - ");
    if (sep == std::string::npos)
      continue;
    auto before = words(line.substr(0, sep));
    auto after = words(line.substr(sep + 3));
    if (before.size() >= 5 && !after.empty() && after[0] == "cgroup2")
      return unescape(before[4]);
  }
  return {};
}

std::string own_cgroup() {
  std::ifstream in{"/proc/self/cgroup"};
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("0::"))
      return line.substr(3);
  return {};
}

bool bound_to_cgroup_v1(const std::string& proc_cgroup,
                        const std::string& controller) {
  std::istringstream in{proc_cgroup};
  for (std::string line; std::getline(in, line);) {
    // "4:memory:/x" (v1) or "0::/x" (v2)
    auto a = line.find(':');
    auto b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos)
      continue;
    std::istringstream list{line.substr(a + 1, b - a - 1)};
    for (std::string c; std::getline(list, c, ',');)
      if (c == controller)
        return true;
  }
  return false;
}

std::int64_t oom_kills_in(const std::string& memory_events) {
  std::istringstream in{memory_events};
  for (std::string key; in >> key;) {
    std::int64_t n = 0;
    if (!(in >> n))
      break;
    if (key == "oom_kill")
      return n;
  }
  return -1;
}

std::vector<int> cgroup_pids(const std::string& dir) {
  unique_fd fd{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  return fd ? cgroup_pids_at(fd.get()) : std::vector<int>{};
}

std::vector<int> cgroup_pids_at(int dirfd) {
  std::vector<int> out;
  unique_fd fd{::openat(dirfd, "cgroup.procs", O_RDONLY | O_CLOEXEC)};
  if (!fd)
    return out;
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd.get(), buf, sizeof buf)) > 0;)
    text.append(buf, static_cast<std::size_t>(n));
  std::istringstream in{text};
  for (int pid = 0; in >> pid;)
    out.push_back(pid);
  return out;
}

bool cgroup_populated(int dirfd) {
  char buf[256];
  return read_at(dirfd, "cgroup.events", buf, sizeof buf) > 0
         && std::strstr(buf, "populated 1") != nullptr;
}

namespace {

// Cgroups (directory descriptors) killed since they were made.
std::mutex killed_mutex;
std::set<int> killed_cgroups;
std::atomic<int> killed_count{0};

} // namespace

bool cgroup_kill(int dirfd) {
  {
    std::lock_guard<std::mutex> guard{killed_mutex};
    if (killed_cgroups.insert(dirfd).second)
      ++killed_count;
  }
  return write_at(dirfd, "cgroup.kill", "1");
}

void cgroup_renew_if_killed(int dirfd) {
  if (killed_count.load() == 0)
    return;
  std::lock_guard<std::mutex> guard{killed_mutex};
  if (!killed_cgroups.count(dirfd))
    return;
  auto dir = cgroup_dir_of(dirfd);
  if (dir.empty() || (::rmdir(dir.c_str()) != 0 && errno != ENOENT))
    return; // not empty after all: kept, and tried again next time
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return;
  unique_fd fresh{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (!fresh || ::dup3(fresh.get(), dirfd, O_CLOEXEC) != dirfd)
    return;
  killed_cgroups.erase(dirfd);
  --killed_count;
}

bool cgroup_set_memory_max(int dirfd, std::uint64_t bytes) {
  return write_at(dirfd, "memory.max", std::to_string(bytes).c_str());
}

std::int64_t cgroup_oom_kills(int dirfd) {
  char buf[512];
  if (read_at(dirfd, "memory.events", buf, sizeof buf) == 0)
    return -1;
  return oom_kills_in(buf);
}

std::string cgroup_dir_of(int dirfd) {
  char buf[4096];
  auto link = "/proc/self/fd/" + std::to_string(dirfd);
  auto n = ::readlink(link.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string{buf, static_cast<std::size_t>(n)} : std::string{};
}

bool cgroup_kill_and_wait(const std::string& dir,
                          std::chrono::milliseconds patience) {
  unique_fd fd{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (!fd)
    return true; // no such cgroup: nothing in it
  if (!cgroup_populated(fd.get()))
    return true;
  // A descriptor of its own, closed below: not one to renew.
  write_at(fd.get(), "cgroup.kill", "1");
  auto deadline = std::chrono::steady_clock::now() + patience;
  auto pause = std::chrono::microseconds{100};
  while (cgroup_populated(fd.get())) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds{20000});
  }
  return true;
}

std::shared_ptr<containment> containment::open(const std::string& log_dir,
                                               std::string* why, bool memory) {
  auto fail = [&](std::string reason) {
    if (why)
      *why = std::move(reason);
    return std::shared_ptr<containment>{};
  };
  auto mount = cgroup2_mount();
  if (mount.empty())
    return fail("no cgroup v2 hierarchy is mounted");
  auto own = own_cgroup();
  if (own.empty())
    return fail("grace is in no cgroup v2 group (/proc/self/cgroup)");
  std::error_code ec;
  auto abs = fs::weakly_canonical(fs::absolute(log_dir, ec), ec);
  auto name = abs.string();
  while (name.size() > 1 && name.back() == '/')
    name.pop_back(); // "logs/" is "logs"
  auto parent = mount + (own == "/" ? std::string{} : own);
  // Moving a child from grace's cgroup into one below it takes write
  // access to grace's own cgroup.procs (their common ancestor).
  if (::access((parent + "/cgroup.procs").c_str(), W_OK) != 0)
    return fail("cannot write " + parent
                + "/cgroup.procs: " + std::strerror(errno));
  auto dir = parent + "/grace-" + digest(name);
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return fail("cannot create the cgroup " + dir + ": "
                + std::strerror(errno));
  if (::access((dir + "/cgroup.kill").c_str(), W_OK) != 0) {
    auto err = errno;
    ::rmdir(dir.c_str());
    return fail(err == ENOENT ? "this kernel has no cgroup.kill (5.14+)"
                              : "cannot write " + dir
                                  + "/cgroup.kill: " + std::strerror(err));
  }
  auto made = std::shared_ptr<containment>{new containment{mount, dir}};
  made->no_memory_ = memory ? made->enable_memory(parent)
                            : "grace started without limits.memory in its "
                              "config: restart grace to use it";
  return made;
}

containment::~containment() = default;

std::string containment::enable_memory(const std::string& parent) {
  auto controllers = read_text(parent + "/cgroup.controllers");
  if (!has_word(controllers, "memory")) {
    std::string list;
    for (auto& c : words(controllers))
      list += (list.empty() ? "" : " ") + c;
    return "grace's cgroup " + parent + " has no memory controller (it has: "
           + (list.empty() ? "none" : list) + ")"
           + (bound_to_cgroup_v1(read_text("/proc/self/cgroup"), "memory")
                ? "; memory is bound to cgroup v1 on this host"
                : "");
  }
  auto control = parent + "/cgroup.subtree_control";
  if (has_word(read_text(control), "memory") || write_file(control, "+memory"))
    return {};
  if (errno != EBUSY)
    return "cannot write +memory to " + control + ": " + std::strerror(errno);
  // A cgroup other than the root that gives controllers to those below it
  // may hold no process: grace, alone in its cgroup (a systemd unit with
  // Delegate=yes), moves into a leaf of its own beside the instance first.
  auto pids = cgroup_pids(parent);
  if (pids != std::vector<int>{::getpid()})
    return "grace's cgroup " + parent + " holds " + std::to_string(pids.size())
           + " processes, and a cgroup that gives controllers to those below "
             "it may hold none: run grace in a cgroup of its own (a systemd "
             "unit with Delegate=yes)";
  auto leaf = dir_ + ".self";
  if ((::mkdir(leaf.c_str(), 0755) != 0 && errno != EEXIST)
      || !write_file(leaf + "/cgroup.procs", std::to_string(::getpid())))
    return "cannot move grace into " + leaf + ": " + std::strerror(errno);
  if (!write_file(control, "+memory")) {
    auto err = errno;
    write_file(parent + "/cgroup.procs", std::to_string(::getpid()));
    ::rmdir(leaf.c_str());
    return "cannot write +memory to " + control + ": " + std::strerror(err);
  }
  moved_to_ = leaf;
  return {};
}

void containment::give_back(const std::vector<int>& also) {
  if (moved_to_.empty())
    return;
  auto parent = fs::path{dir_}.parent_path().string();
  write_file(parent + "/cgroup.subtree_control", "-memory");
  for (auto pid : also)
    write_file(parent + "/cgroup.procs", std::to_string(pid));
  write_file(parent + "/cgroup.procs", std::to_string(::getpid()));
  ::rmdir(moved_to_.c_str());
  moved_to_.clear();
}

std::string containment::component_dir(const std::string& path) const {
  return dir_ + "/" + path;
}

std::string containment::component_of(const std::string& cgroup) const {
  auto full = mount_ + cgroup;
  if (!full.starts_with(dir_ + "/"))
    return {};
  return full.substr(dir_.size() + 1);
}

int containment::component(const std::string& path) {
  std::lock_guard<std::mutex> guard{mutex_};
  auto it = components_.find(path);
  if (it != components_.end())
    return it->second.get();
  auto dir = component_dir(path);
  // Its supervisors' cgroups above it first (they hold no process), each
  // giving the memory controller to those below it where grace has it.
  for (std::size_t at = dir_.size(); at < dir.size(); ++at)
    if (dir[at] == '/') {
      auto up = dir.substr(0, at);
      if (::mkdir(up.c_str(), 0755) != 0 && errno != EEXIST)
        return -1;
      if (no_memory_.empty()
          && !write_file(up + "/cgroup.subtree_control", "+memory"))
        return -1;
    }
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return -1;
  unique_fd fd{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (!fd)
    return -1;
  auto raw = fd.get();
  components_.emplace(path, std::move(fd));
  return raw;
}

std::map<std::string, std::vector<int>> containment::leftovers() const {
  std::map<std::string, std::vector<int>> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator{dir_, ec};
       !ec && it != fs::recursive_directory_iterator{}; it.increment(ec)) {
    if (!it->is_directory(ec))
      continue;
    auto dir = it->path().string();
    if (!populated_dir(dir))
      continue;
    auto pids = cgroup_pids(dir);
    if (!pids.empty())
      out.emplace(dir.substr(dir_.size() + 1), std::move(pids));
  }
  return out;
}

void containment::remove_empty() {
  std::lock_guard<std::mutex> guard{mutex_};
  components_.clear();
  remove_cgroup_tree(dir_);
}

bool remove_cgroup_tree(const std::string& dir) {
  // Deepest first: a cgroup with cgroups below it cannot go.
  std::vector<std::string> dirs;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator{dir, ec};
       !ec && it != fs::recursive_directory_iterator{}; it.increment(ec))
    if (it->is_directory(ec))
      dirs.push_back(it->path().string());
  std::sort(dirs.begin(), dirs.end(), std::greater<>{});
  for (auto& d : dirs)
    ::rmdir(d.c_str());
  return ::rmdir(dir.c_str()) == 0 || errno == ENOENT;
}

} // namespace grace::runtime
