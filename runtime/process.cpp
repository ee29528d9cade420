#include "runtime/process.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_set>

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/process/v2/detail/last_error.hpp> // stdio.hpp misses it
#include <boost/process/v2/posix/default_launcher.hpp>
#include <boost/process/v2/stdio.hpp>

#include "runtime/io_loop.hpp"

#if defined(__SANITIZE_ADDRESS__)
#  include <sanitizer/asan_interface.h>
#endif

namespace bp = boost::process::v2;
namespace asio = boost::asio;

namespace grace::runtime {

namespace {

// Children spawn() started and nobody has reaped yet; the orphan reaper
// must not take their exit status from watch_exit().
std::mutex tracked_mutex;
std::unordered_set<int> tracked_pids;

void track(int pid) {
  std::lock_guard<std::mutex> guard{tracked_mutex};
  tracked_pids.insert(pid);
}

void untrack(int pid) {
  std::lock_guard<std::mutex> guard{tracked_mutex};
  tracked_pids.erase(pid);
}

int pidfd_open(int pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

struct resolved_user {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  // From its passwd entry (none for a bare uid): its environment.
  std::vector<std::string> env; // HOME=, USER=, LOGNAME=, SHELL=
};

// Looks the user up before forking: getpwnam and getgrouplist read files and
// allocate, which a vfork child must not do.
std::variant<resolved_user, spawn_failure>
resolve_user(const std::string& name) {
  resolved_user result;
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  int rc = ::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
  if (!found) {
    // A numeric uid without a passwd entry is still a valid identity.
    char* end = nullptr;
    auto uid = std::strtoul(name.c_str(), &end, 10);
    if (!name.empty() && *end == '\0') {
      result.uid = static_cast<uid_t>(uid);
      result.gid = static_cast<gid_t>(uid);
      result.groups = {result.gid};
      return result;
    }
    return spawn_failure{rc ? rc : ENOENT, "unknown user '" + name + "'"};
  }
  result.uid = pw.pw_uid;
  result.gid = pw.pw_gid;
  result.env = {
    std::string{"HOME="} + pw.pw_dir, std::string{"USER="} + pw.pw_name,
    std::string{"LOGNAME="} + pw.pw_name, std::string{"SHELL="} + pw.pw_shell};
  int n = 64;
  result.groups.resize(static_cast<std::size_t>(n));
  if (::getgrouplist(pw.pw_name, pw.pw_gid, result.groups.data(), &n) < 0) {
    result.groups.resize(static_cast<std::size_t>(n));
    ::getgrouplist(pw.pw_name, pw.pw_gid, result.groups.data(), &n);
  }
  result.groups.resize(static_cast<std::size_t>(n));
  return result;
}

// Runs in the vfork child between fork and exec: only async-signal-safe
// system calls, no allocation. It shares the parent's memory, so `step`
// tells the parent which step failed.
struct child_setup {
  pid_t parent = 0;
  const std::vector<resource_limit>* limits = nullptr;
  const resolved_user* user = nullptr;
  const char* cwd = nullptr;
  const char* step = nullptr;

  bp::error_code fail(const char* what) {
    step = what;
    return {errno, bp::system_category()};
  }

  bp::error_code on_exec_setup(bp::posix::default_launcher&,
                               const bp::filesystem::path&,
                               const char* const*&) {
    // grace blocks the signals it reads through signalfd; a child must not
    // inherit that mask, nor SIGPIPE ignored (exec resets handled signals
    // by itself, but not ignored ones; SIGPIPE is the only one grace
    // ignores).
    sigset_t none;
    sigemptyset(&none);
    if (::sigprocmask(SIG_SETMASK, &none, nullptr) != 0)
      return fail("reset the signal mask");
    ::signal(SIGPIPE, SIG_DFL);
    if (::setpgid(0, 0) != 0)
      return fail("create a process group");
    for (auto& l : *limits) {
      rlimit r{};
      r.rlim_cur = r.rlim_max = l.unlimited ? RLIM_INFINITY : l.value;
      if (::setrlimit(static_cast<__rlimit_resource>(l.resource), &r) != 0)
        return fail("set resource limits");
    }
    if (user) {
      if (::setgroups(user->groups.size(), user->groups.data()) != 0)
        return fail("set supplementary groups");
      if (::setgid(user->gid) != 0)
        return fail("switch group");
      if (::setuid(user->uid) != 0)
        return fail("switch user");
    }
    // Die with grace, even if grace is killed with SIGKILL. Set after the
    // credentials change, which clears it. If grace died between vfork and
    // here, the signal was already missed: leave now.
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
      return fail("set the parent-death signal");
    if (::getppid() != parent)
      ::_exit(126);
    if (cwd && *cwd && ::chdir(cwd) != 0)
      return fail("change directory");
    // Descriptors grace opened without O_CLOEXEC (libraries do) must not
    // leak into the child: mark everything past stdio close-on-exec.
    ::syscall(SYS_close_range, 3u, ~0u, 4u /* CLOSE_RANGE_CLOEXEC */);
    step = "execute";
    return {};
  }
};

// Spawns are serialised: they share the slots and the child stack below.
std::mutex spawn_mutex;

// Three descriptors (on /dev/null outside a spawn) that hold a child's
// stdin, stdout and stderr while it is being spawned, opened once, as low as
// they can be. The child starts on grace's descriptor table and makes its own
// holding only the descriptors below `above` (close_range with
// CLOSE_RANGE_UNSHARE): a copy of grace's whole table, and closing every
// descriptor in it at exec, would cost time in proportion to what grace holds
// open (several per child: with 1000 children that was most of a restart).
struct spawn_slots {
  int in = -1; // always /dev/null
  int out = -1;
  int err = -1;
  unsigned above = 0;
};

spawn_slots& slots() {
  static spawn_slots s = [] {
    spawn_slots x;
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    x.in = ::fcntl(null, F_DUPFD_CLOEXEC, 3);
    x.out = ::fcntl(null, F_DUPFD_CLOEXEC, 3);
    x.err = ::fcntl(null, F_DUPFD_CLOEXEC, 3);
    ::close(null);
    x.above = static_cast<unsigned>(std::max({x.in, x.out, x.err}) + 1);
    return x;
  }();
  return s;
}

// The child's stack while it shares grace's memory (CLONE_VM), guarded by
// spawn_mutex.
constexpr std::size_t child_stack_size = 256 * 1024;
alignas(64) char child_stack[child_stack_size];

// Boost.Process v2's launcher machinery (initializers for stdio and our own
// child_setup) with a clone of its own, like posix_spawn's: the child shares
// grace's memory and descriptor table until it has made its own table (the
// parent waits meanwhile, CLONE_VFORK). Boost 1.81's vfork_launcher cannot be
// used as it is: it calls notify_fork(fork_child) on an io_context from the
// vfork child, which re-creates that context's epoll descriptor in the
// parent's memory, and it calls exit() rather than _exit() when exec fails.
// This one does neither, and returns a bare pid: grace watches exits through
// its own pidfd on the I/O thread.
struct grace_launcher : bp::posix::default_launcher {
  template <class... Inits>
  int launch(bp::error_code& ec, const bp::filesystem::path& exe,
             const char** argv, unsigned keep_below, Inits&... inits) {
    namespace d = bp::posix::detail;
    auto args = build_argv_(exe, argv);
    ec = d::on_setup(*this, exe, args, inits...);
    if (ec) {
      d::on_error(*this, exe, args, ec, inits...);
      return -1;
    }
    // The child: shares the parent's memory until execve; writes only `ec`
    // and what the initializers record. Not instrumented by ASan: it runs on
    // a stack ASan does not know, and _exit() would make it warn.
    auto child = [&]() __attribute__((no_sanitize_address))->int {
      // Its own descriptor table first (nothing before this may touch a
      // descriptor: the table is still grace's).
      if (::syscall(SYS_close_range, keep_below, ~0u,
                    2u /* CLOSE_RANGE_UNSHARE */)
            != 0
          && ::unshare(CLONE_FILES) != 0) {
        ec.assign(errno, bp::system_category());
        ::_exit(127);
      }
      ec = d::on_exec_setup(*this, exe, args, inits...);
      if (!ec)
        ::execve(exe.c_str(), const_cast<char* const*>(args),
                 const_cast<char* const*>(env));
      ec.assign(errno, bp::system_category());
      ::_exit(127);
    };
    using body = decltype(child);
#if defined(__SANITIZE_ADDRESS__)
    // The previous child never returned from its frames on this stack: what
    // they poisoned would be reported against this child's.
    ASAN_UNPOISON_MEMORY_REGION(child_stack, child_stack_size);
#endif
    pid = ::clone([](void* f) { return (*static_cast<body*>(f))(); },
                  child_stack + child_stack_size,
                  CLONE_VM | CLONE_VFORK | CLONE_FILES | SIGCHLD, &child);
    if (pid == -1) {
      ec.assign(errno, bp::system_category());
      d::on_fork_error(*this, exe, args, ec, inits...);
      d::on_error(*this, exe, args, ec, inits...);
      return -1;
    }
    if (ec) {
      int status = 0;
      ::waitpid(pid, &status, 0);
      d::on_error(*this, exe, args, ec, inits...);
      return -1;
    }
    d::on_success(*this, exe, args, inits...);
    return pid;
  }
};

} // namespace

std::string find_executable(const std::string& name,
                            const std::vector<std::string>& env) {
  if (name.find('/') != std::string::npos)
    return name;
  std::string path;
  for (auto& e : env)
    if (e.starts_with("PATH="))
      path = e.substr(5);
  if (path.empty()) {
    auto* p = std::getenv("PATH");
    path = p ? p : "/usr/local/bin:/usr/bin:/bin";
  }
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find(':', start);
    if (end == std::string::npos)
      end = path.size();
    auto dir = path.substr(start, end - start);
    auto candidate = (dir.empty() ? std::string{"."} : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    start = end + 1;
  }
  return {};
}

spawn_result spawn(const spawn_options& opts) {
  if (opts.argv.empty() || opts.argv.front().empty())
    return spawn_failure{EINVAL, "empty command"};
  auto exe = opts.executable.empty()
               ? find_executable(opts.argv.front(), opts.env)
               : opts.executable;
  if (exe.empty())
    return spawn_failure{ENOENT, "cannot execute '" + opts.argv.front()
                                   + "': not found in PATH"};
  std::optional<resolved_user> user;
  if (opts.user) {
    auto r = resolve_user(*opts.user);
    if (auto* f = std::get_if<spawn_failure>(&r))
      return std::move(*f);
    user = std::get<resolved_user>(r);
  }
  std::vector<const char*> envp;
  envp.reserve(opts.env.size() + 5);
  for (auto& e : opts.env)
    envp.push_back(e.c_str());
  // The user's HOME, USER, LOGNAME and SHELL, unless the config sets them
  // (those grace inherited are left out for a user: child, base_options).
  if (user)
    for (auto& e : user->env) {
      auto name = std::string_view{e}.substr(0, e.find('=') + 1);
      if (std::none_of(opts.env.begin(), opts.env.end(),
                       [name](auto& x) { return x.starts_with(name); }))
        envp.push_back(e.c_str());
    }
  envp.push_back(nullptr);
  std::vector<const char*> argv;
  argv.reserve(opts.argv.size() + 1);
  for (auto& a : opts.argv)
    argv.push_back(a.c_str());
  argv.push_back(nullptr);

  child_setup setup;
  setup.parent = ::getpid();
  setup.limits = &opts.limits;
  setup.user = user ? &*user : nullptr;
  setup.cwd = opts.cwd.c_str();
  grace_launcher launcher;
  launcher.env = envp.data();
  bp::error_code ec;
  int pid = -1;
  {
    std::lock_guard<std::mutex> guard{spawn_mutex};
    auto& slot = slots();
    // Output nobody captures goes to /dev/null.
    auto hold = [&](int fd, int into) {
      return fd < 0 || ::dup3(fd, into, O_CLOEXEC) == into;
    };
    if (!hold(opts.stdout_fd, slot.out) || !hold(opts.stderr_fd, slot.err))
      ec.assign(errno, bp::system_category());
    else {
      bp::process_stdio stdio{slot.in, slot.out, slot.err};
      pid = launcher.launch(ec, bp::filesystem::path{exe}, argv.data(),
                            slot.above, stdio, setup);
    }
    // The child has its own copies: the pipes must not stay open here.
    ::dup3(slot.in, slot.out, O_CLOEXEC);
    ::dup3(slot.in, slot.err, O_CLOEXEC);
  }
  if (ec) {
    auto what = setup.step ? std::string{setup.step} : std::string{"start"};
    std::string target
      = what == "change directory" ? "'" + opts.cwd + "'" : "'" + exe + "'";
    return spawn_failure{ec.value(), "cannot " + what + " "
                                       + (what == "execute" || what == "start"
                                              || what == "change directory"
                                            ? target + ": "
                                            : "for '" + exe + "': ")
                                       + ec.message()};
  }
  track(pid);
  child_process child;
  child.pid = pid;
  child.pidfd.reset(pidfd_open(child.pid));
  if (!child.pidfd) {
    auto err = errno;
    ::kill(child.pid, SIGKILL);
    int status = 0;
    ::waitpid(child.pid, &status, 0);
    untrack(child.pid);
    return spawn_failure{err, std::string{"pidfd_open: "} + std::strerror(err)};
  }
  return child;
}

void watch_exit(io_loop& loop, int pid, unique_fd pidfd,
                std::function<void(int, exit_status)> on_exit) {
  auto desc = std::make_shared<asio::posix::stream_descriptor>(loop.context(),
                                                               pidfd.release());
  desc->async_wait(
    asio::posix::stream_descriptor::wait_read,
    [desc, pid, cb = std::move(on_exit)](const boost::system::error_code&) {
      // No orphans: take down what the child left in its process group,
      // while the unreaped leader still holds the group id.
      if (pid > 1)
        ::kill(-pid, SIGKILL);
      siginfo_t info{};
      int rc = 0;
      do {
        rc = ::waitid(P_PIDFD, static_cast<id_t>(desc->native_handle()), &info,
                      WEXITED);
      } while (rc != 0 && errno == EINTR);
      exit_status status;
      if (rc == 0) {
        status = exit_status::from_siginfo(info.si_code, info.si_status);
      } else {
        // Reaped by someone else (can't happen: grace reaps only children it
        // does not track). Report it as killed rather than hang.
        status.how = exit_status::kind::signaled;
        status.signal = SIGKILL;
      }
      boost::system::error_code ignored;
      desc->close(ignored);
      untrack(pid);
      cb(pid, status);
    });
}

namespace {

// One stop_process(): the pidfd turns readable when the process exits; the
// timer sends SIGKILL, then gives up.
struct stopping : std::enable_shared_from_this<stopping> {
  stopping(io_loop& loop, int fd, int p, std::function<void(bool)> d)
      : exit(loop.context(), fd), timer(loop.context()), pid(p),
        done(std::move(d)) {}

  void wait(std::chrono::milliseconds patience) {
    exit.async_wait(
      asio::posix::stream_descriptor::wait_read,
      [self = shared_from_this()](const boost::system::error_code& ec) {
        if (!ec)
          self->finish(true);
      });
    arm(patience);
  }

  void arm(std::chrono::milliseconds patience) {
    timer.expires_after(patience);
    timer.async_wait(
      [self = shared_from_this()](const boost::system::error_code& ec) {
        if (ec || self->finished)
          return;
        if (!self->killed) {
          self->killed = true;
          ::kill(self->pid, SIGKILL);
          self->arm(std::chrono::seconds{1});
          return;
        }
        self->finish(false);
      });
  }

  void finish(bool gone) {
    if (finished)
      return;
    finished = true;
    boost::system::error_code ignored;
    timer.cancel();
    exit.close(ignored);
    done(gone);
  }

  asio::posix::stream_descriptor exit;
  asio::steady_timer timer;
  int pid;
  std::function<void(bool)> done;
  bool killed = false;
  bool finished = false;
};

} // namespace

void stop_process(io_loop& loop, int pid, int signal,
                  std::chrono::milliseconds patience,
                  std::function<void(bool gone)> done) {
  int fd = pidfd_open(pid);
  if (fd < 0) {
    done(errno == ESRCH); // gone already (or not ours to see)
    return;
  }
  ::kill(pid, signal);
  ::kill(pid, SIGCONT);
  auto s = std::make_shared<stopping>(loop, fd, pid, std::move(done));
  s->wait(patience);
}

bool is_tracked(int pid) {
  std::lock_guard<std::mutex> guard{tracked_mutex};
  return tracked_pids.count(pid) > 0;
}

bool signal_group(int pgid, int signal) noexcept {
  // kill(-1) would signal every process grace may signal: never.
  if (pgid <= 1)
    return false;
  return ::kill(-pgid, signal) == 0;
}

} // namespace grace::runtime
