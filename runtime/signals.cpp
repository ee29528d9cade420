#include "runtime/signals.hpp"

#include <csignal>
#include <filesystem>
#include <fstream>

#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "runtime/io_loop.hpp"
#include "runtime/process.hpp"

namespace grace::runtime {

namespace {

sigset_t watched_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (auto sig : {SIGTERM, SIGINT, SIGHUP, SIGCHLD})
    sigaddset(&set, sig);
  return set;
}

} // namespace

void block_signals() {
  auto set = watched_signals();
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

bool become_subreaper() {
  return ::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0;
}

int reap_orphans() {
  int reaped = 0;
  std::error_code ec;
  for (auto& task :
       std::filesystem::directory_iterator{"/proc/self/task", ec}) {
    std::ifstream in{task.path() / "children"};
    int pid = 0;
    while (in >> pid) {
      if (is_tracked(pid))
        continue;
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid)
        ++reaped;
    }
  }
  return reaped;
}

struct signal_watcher::impl {
  explicit impl(io_loop& l) : loop(l), desc(l.context()), reap(l.context()) {}
  io_loop& loop;
  boost::asio::posix::stream_descriptor desc;
  std::function<void(int)> on_signal;
  // Every exit of one of grace's own children raises SIGCHLD too, right
  // when its pidfd fires: scanning /proc for orphans then would sit on the
  // restart path. Orphans are reaped a little later, once per burst.
  boost::asio::steady_timer reap;
  bool reap_pending = false;

  void schedule_reap(std::shared_ptr<impl> self) {
    if (reap_pending)
      return;
    reap_pending = true;
    reap.expires_after(std::chrono::milliseconds{20});
    reap.async_wait([self](const boost::system::error_code& ec) {
      self->reap_pending = false;
      if (!ec)
        reap_orphans();
    });
  }

  void read(std::shared_ptr<impl> self) {
    desc.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                    [self](const boost::system::error_code& ec) {
                      if (ec)
                        return;
                      signalfd_siginfo info{};
                      while (
                        ::read(self->desc.native_handle(), &info, sizeof(info))
                        == sizeof(info)) {
                        auto sig = static_cast<int>(info.ssi_signo);
                        if (sig == SIGCHLD)
                          self->schedule_reap(self);
                        else
                          self->on_signal(sig);
                      }
                      self->read(self);
                    });
  }
};

signal_watcher::signal_watcher(io_loop& loop,
                               std::function<void(int)> on_signal)
    : impl_(std::make_shared<impl>(loop)) {
  auto set = watched_signals();
  auto fd = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  impl_->on_signal = std::move(on_signal);
  auto self = impl_;
  loop.post([self, fd] {
    self->desc.assign(fd);
    self->read(self);
  });
}

signal_watcher::~signal_watcher() {
  auto self = impl_;
  // Close on the I/O thread, where the descriptor lives; if the loop has
  // stopped, the destructor of impl closes it.
  impl_->loop.post([self] {
    boost::system::error_code ec;
    self->desc.close(ec);
    self->reap.cancel();
  });
}

} // namespace grace::runtime
