#include "runtime/sd_notify.hpp"

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>

#include "runtime/io_loop.hpp"

namespace grace::runtime {

notify_message parse_notify(std::string_view datagram) {
  notify_message m;
  while (!datagram.empty()) {
    auto nl = datagram.find('\n');
    auto line = datagram.substr(0, nl);
    datagram = nl == std::string_view::npos ? std::string_view{}
                                            : datagram.substr(nl + 1);
    auto eq = line.find('=');
    if (eq == std::string_view::npos)
      continue;
    auto key = line.substr(0, eq);
    auto value = line.substr(eq + 1);
    if (key == "READY")
      m.ready = value == "1";
    else if (key == "WATCHDOG")
      m.watchdog = value == "1";
    else if (key == "STOPPING")
      m.stopping = value == "1";
    else if (key == "RELOADING")
      m.reloading = value == "1";
    else if (key == "STATUS")
      m.status = std::string{value};
    else if (key == "MAINPID") {
      int pid = 0;
      auto r = std::from_chars(value.data(), value.data() + value.size(), pid);
      if (r.ec == std::errc{} && r.ptr == value.data() + value.size()
          && pid > 0)
        m.main_pid = pid;
    }
  }
  return m;
}

struct notify_socket::impl {
  impl(io_loop& l, int fd) : loop(l), desc(l.context(), fd) {}
  io_loop& loop;
  boost::asio::posix::stream_descriptor desc;
  handler on_message;
};

notify_socket::notify_socket(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

notify_socket::~notify_socket() = default;

std::shared_ptr<notify_socket> notify_socket::open(io_loop& loop,
                                                   handler on_message) {
  static std::atomic<unsigned> counter{0};
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return nullptr;
  // Abstract names need no directory and vanish with the socket.
  auto name
    = "grace/" + std::to_string(::getpid()) + "/" + std::to_string(counter++);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  auto len
    = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  int one = 1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0
      || ::setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) != 0) {
    auto err = errno;
    ::close(fd);
    errno = err;
    return nullptr;
  }
  auto p = std::make_unique<impl>(loop, fd);
  p->on_message = std::move(on_message);
  std::shared_ptr<notify_socket> s{new notify_socket(std::move(p))};
  s->address_ = "@" + name;
  s->wait();
  return s;
}

void notify_socket::wait() {
  impl_->desc.async_wait(
    boost::asio::posix::stream_descriptor::wait_read,
    [weak = weak_from_this()](const boost::system::error_code& ec) {
      auto self = weak.lock();
      if (ec || !self || !self->impl_->desc.is_open())
        return;
      for (;;) {
        char buf[4096];
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
        iovec iov{buf, sizeof(buf)};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof(control);
        auto n = ::recvmsg(self->impl_->desc.native_handle(), &msg,
                           MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0)
          break;
        int pid = 0;
        for (auto* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
          if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
            ucred cred{};
            std::memcpy(&cred, CMSG_DATA(c), sizeof(cred));
            pid = cred.pid;
          }
        }
        if (pid <= 0)
          continue; // anonymous: nobody can vouch for it
        auto pgid = ::getpgid(pid);
        self->impl_->on_message(
          pid, pgid, parse_notify({buf, static_cast<std::size_t>(n)}));
      }
      self->wait();
    });
}

void notify_socket::close() {
  boost::system::error_code ignored;
  impl_->desc.close(ignored);
}

} // namespace grace::runtime
