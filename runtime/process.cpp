#include "runtime/process.hpp"

#include <algorithm>
#include <atomic>
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
#include <spdlog/spdlog.h>

#include "runtime/cgroup.hpp"
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

// clone3(2) (no glibc wrapper), as far as grace uses it.
struct clone3_args {
  std::uint64_t flags = 0;
  std::uint64_t pidfd = 0;
  std::uint64_t child_tid = 0;
  std::uint64_t parent_tid = 0;
  std::uint64_t exit_signal = 0;
  std::uint64_t stack = 0;
  std::uint64_t stack_size = 0;
  std::uint64_t tls = 0;
  std::uint64_t set_tid = 0;
  std::uint64_t set_tid_size = 0;
  std::uint64_t cgroup = 0;
};

constexpr std::uint64_t clone_into_cgroup = 0x200000000ULL; // Linux 5.7

} // namespace

// clone3 with a stack of its own: the child must not return into the
// caller's frames (it shares their memory), so it calls `fn(arg)` on the
// new stack and exits with its result, as clone(3) does. Returns the pid,
// or minus the error number.
#if defined(__x86_64__)
#  define GRACE_HAVE_CLONE3 1
extern "C" long grace_clone3(void* args, std::size_t size, int (*fn)(void*),
                             void* arg);
asm(R"(
  .text
  .p2align 4
  .globl grace_clone3
  .hidden grace_clone3
  .type grace_clone3,@function
grace_clone3:
  mov %rdx, %r8
  mov %rcx, %r9
  mov $435, %eax
  syscall
  test %rax, %rax
  jnz 1f
  xor %ebp, %ebp
  mov %r9, %rdi
  call *%r8
  mov %eax, %edi
  mov $60, %eax
  syscall
  hlt
1:
  ret
  .size grace_clone3, .-grace_clone3
)");
#elif defined(__aarch64__)
#  define GRACE_HAVE_CLONE3 1
extern "C" long grace_clone3(void* args, std::size_t size, int (*fn)(void*),
                             void* arg);
asm(R"(
  .text
  .p2align 2
  .globl grace_clone3
  .hidden grace_clone3
  .type grace_clone3,%function
grace_clone3:
  mov x10, x2
  mov x11, x3
  mov x8, #435
  svc #0
  cbnz x0, 1f
  mov x0, x11
  blr x10
  mov x8, #93
  svc #0
1:
  ret
  .size grace_clone3, .-grace_clone3
)");
#else
#  define GRACE_HAVE_CLONE3 0
#endif

namespace {

// Whether clone3 can start a child in a cgroup here (Linux 5.7+); cleared
// at the first sign it cannot, after which the child moves itself.
std::atomic<bool> clone_into_cgroup_works{GRACE_HAVE_CLONE3 != 0};

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
    return spawn_failure{rc ? rc : ENOENT, "unknown user '" + name + "'", true};
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
  // Where clone3 cannot start the child in its cgroup: the cgroup.procs
  // file it writes itself into, before it changes user.
  const char* cgroup_procs = nullptr;
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
    if (cgroup_procs) {
      int fd = ::open(cgroup_procs, O_WRONLY | O_CLOEXEC);
      if (fd < 0 || ::write(fd, "0", 1) != 1)
        return fail("enter its cgroup");
      ::close(fd);
    }
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
             const char** argv, unsigned keep_below, int cgroup,
             Inits&... inits) {
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
    auto run = [](void* f) { return (*static_cast<body*>(f))(); };
    pid = -1;
    if (cgroup >= 0) {
      // Straight into its cgroup: no migration afterwards (which would
      // cost the restart a write and the kernel a grace period).
#if GRACE_HAVE_CLONE3
      clone3_args how;
      how.flags = CLONE_VM | CLONE_VFORK | CLONE_FILES | clone_into_cgroup;
      how.exit_signal = SIGCHLD;
      how.stack = reinterpret_cast<std::uintptr_t>(child_stack);
      how.stack_size = child_stack_size;
      how.cgroup = static_cast<std::uint64_t>(cgroup);
      auto r = grace_clone3(&how, sizeof how, run, &child);
      pid = r < 0 ? -1 : static_cast<int>(r);
      if (r < 0)
        errno = static_cast<int>(-r);
#endif
    } else {
      pid = ::clone(run, child_stack + child_stack_size,
                    CLONE_VM | CLONE_VFORK | CLONE_FILES | SIGCHLD, &child);
    }
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
  if (opts.memory_max) {
    if (opts.cgroup < 0)
      return spawn_failure{EOPNOTSUPP, "limits.memory needs a cgroup", true};
    if (!cgroup_set_memory_max(opts.cgroup, *opts.memory_max)) {
      auto err = errno;
      return spawn_failure{err,
                           "cannot set memory.max of its cgroup: "
                             + std::string{std::strerror(err)},
                           true};
    }
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
  // Into its cgroup: by clone3, or where that cannot be done the child
  // writes itself into it.
  int into = -1;
  std::string procs;
  if (opts.cgroup >= 0) {
    if (clone_into_cgroup_works.load(std::memory_order_relaxed))
      into = opts.cgroup;
    else {
      procs = cgroup_dir_of(opts.cgroup) + "/cgroup.procs";
      setup.cgroup_procs = procs.c_str();
    }
  }
  grace_launcher launcher;
  launcher.env = envp.data();
  bp::error_code ec;
  int pid = -1;
  {
    std::lock_guard<std::mutex> guard{spawn_mutex};
    auto& slot = slots();
    // Output nobody captures goes to /dev/null.
    auto hold = [&](int fd, int slot_fd) {
      return fd < 0 || ::dup3(fd, slot_fd, O_CLOEXEC) == slot_fd;
    };
    if (!hold(opts.stdout_fd, slot.out) || !hold(opts.stderr_fd, slot.err))
      ec.assign(errno, bp::system_category());
    else {
      bp::process_stdio stdio{slot.in, slot.out, slot.err};
      pid = launcher.launch(ec, bp::filesystem::path{exe}, argv.data(),
                            slot.above, into, stdio, setup);
    }
    // The clone itself failed (no child step did: a child's E2BIG is
    // execve's, its EINVAL a limit's).
    if (into >= 0 && pid < 0 && !setup.step
        && (ec.value() == ENOSYS || ec.value() == E2BIG
            || ec.value() == EINVAL)) {
      // No clone3 or no CLONE_INTO_CGROUP (before 5.7): from now on the
      // child moves itself.
      clone_into_cgroup_works = false;
      procs = cgroup_dir_of(opts.cgroup) + "/cgroup.procs";
      setup.cgroup_procs = procs.c_str();
      ec.clear();
      bp::process_stdio stdio{slot.in, slot.out, slot.err};
      pid = launcher.launch(ec, bp::filesystem::path{exe}, argv.data(),
                            slot.above, -1, stdio, setup);
    } else if (into >= 0 && pid < 0 && !setup.step)
      setup.step = "enter its cgroup";
    // The child has its own copies: the pipes must not stay open here.
    ::dup3(slot.in, slot.out, O_CLOEXEC);
    ::dup3(slot.in, slot.err, O_CLOEXEC);
  }
  if (ec) {
    auto what = setup.step ? std::string{setup.step} : std::string{"start"};
    std::string target
      = what == "change directory" ? "'" + opts.cwd + "'" : "'" + exe + "'";
    spawn_failure f{ec.value(), "cannot " + what + " "
                                  + (what == "execute" || what == "start"
                                         || what == "change directory"
                                       ? target + ": "
                                       : "for '" + exe + "': ")
                                  + ec.message()};
    // Everything before exec is its confinement.
    f.sandbox = what != "execute" && what != "start";
    return f;
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

bool is_shortage(int error) noexcept {
  return error == EMFILE || error == ENFILE || error == EAGAIN;
}

std::string shortage(int error) {
  switch (error) {
    case EMFILE: {
      rlimit nofile{};
      ::getrlimit(RLIMIT_NOFILE, &nofile);
      return "descriptors (its limit: " + std::to_string(nofile.rlim_cur) + ")";
    }
    case ENFILE:
      return "the system's descriptors";
    case EAGAIN:
      return "processes (a pids limit, or its user's RLIMIT_NPROC)";
    default:
      return {};
  }
}

namespace {

// Waits on the I/O thread until the cgroup behind `dirfd` is empty, after
// cgroup.kill; gives up after five seconds, with a warning: a process stuck
// in the kernel (D state) cannot be waited for forever.
struct emptying : std::enable_shared_from_this<emptying> {
  emptying(io_loop& loop, int fd, std::function<void()> d)
      : timer(loop.context()), dirfd(fd), done(std::move(d)),
        deadline(std::chrono::steady_clock::now() + std::chrono::seconds{5}) {}

  void check() {
    if (!cgroup_populated(dirfd))
      return done();
    if (std::chrono::steady_clock::now() >= deadline) {
      spdlog::warn("{}: processes outlived cgroup.kill for 5 s; going on",
                   cgroup_dir_of(dirfd));
      return done();
    }
    timer.expires_after(pause);
    pause = std::min(pause * 2, std::chrono::microseconds{20000});
    timer.async_wait([self = shared_from_this()](
                       const boost::system::error_code&) { self->check(); });
  }

  asio::steady_timer timer;
  int dirfd;
  std::function<void()> done;
  std::chrono::steady_clock::time_point deadline;
  std::chrono::microseconds pause{50};
};

} // namespace

void kill_component(int pgid, int cgroup) noexcept {
  signal_group(pgid, SIGKILL);
  if (cgroup >= 0)
    cgroup_kill(cgroup);
}

void watch_exit(io_loop& loop, int pid, unique_fd pidfd,
                std::function<void(int, exit_status)> on_exit, int cgroup) {
  auto desc = std::make_shared<asio::posix::stream_descriptor>(loop.context(),
                                                               pidfd.release());
  desc->async_wait(
    asio::posix::stream_descriptor::wait_read,
    [&loop, desc, pid, cgroup,
     cb = std::move(on_exit)](const boost::system::error_code&) mutable {
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
      // Whatever it forked, in any group or session: killed, and gone
      // before anyone hears of the exit (a restart must find it empty).
      // Usually there is nothing: one read.
      if (cgroup < 0 || !cgroup_populated(cgroup)) {
        if (cgroup >= 0)
          cgroup_renew_if_killed(cgroup);
        cb(pid, status);
        return;
      }
      cgroup_kill(cgroup);
      auto e = std::make_shared<emptying>(
        loop, cgroup, [pid, status, cgroup, cb = std::move(cb)] {
          cgroup_renew_if_killed(cgroup);
          cb(pid, status);
        });
      e->check();
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
