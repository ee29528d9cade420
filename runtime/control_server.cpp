#include "runtime/control_server.hpp"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <future>
#include <unordered_set>

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "runtime/io_loop.hpp"
#include "runtime/unique_fd.hpp"

namespace asio = boost::asio;
using local = asio::local::stream_protocol;

namespace grace::runtime {

namespace {

/// {"error":"...","ok":false}.
std::string error_line(const std::string& why) {
  return nlohmann::json{{"ok", false}, {"error", why}}.dump(
    -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Connects to the unix socket at `path` (blocking, with a deadline);
// returns the descriptor, or an empty one with errno set.
unique_fd connect_to(const std::string& path,
                     std::chrono::milliseconds timeout) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) {
    errno = ENAMETOOLONG;
    return {};
  }
  unique_fd fd{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (!fd)
    return {};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return {};
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return fd;
}

} // namespace

// One client. Reads lines; hands one request at a time to the handler (and
// reads no further meanwhile); writes the answers in order.
struct client : std::enable_shared_from_this<client> {
  client(local::socket s, std::shared_ptr<control_server::impl> o);

  void start();
  void read_more();
  void pump();
  void next_request();
  void answer(std::string line, bool last);
  void write_next();
  void close_after(std::string line);
  void close();
  void arm_idle();

  local::socket socket;
  asio::steady_timer idle;
  std::shared_ptr<control_server::impl> owner;
  std::string buffer;
  char chunk[4096];
  bool busy = false;     // a request is with the handler
  bool reading = false;  // a read is under way
  bool writing = false;  // a write is under way
  bool draining = false; // write what is queued, then close
  bool closing = false;
  /// Since when it has had nothing under way (its start, its last answer).
  std::chrono::steady_clock::time_point idle_since
    = std::chrono::steady_clock::now();
  std::deque<std::string> out;  // answers still to write
  std::size_t queued_bytes = 0; // in `out`
  // Cleared when the client goes: a stream's producer learns it from its
  // reply function's result.
  std::shared_ptr<std::atomic<bool>> alive
    = std::make_shared<std::atomic<bool>>(true);
};

struct control_server::impl : std::enable_shared_from_this<impl> {
  impl(io_loop& l, handler h, limits lim)
      : loop(l), acceptor(l.context()), retry(l.context()),
        on_request(std::move(h)), limit(lim) {}

  void accept() {
    acceptor.async_accept(
      [self = shared_from_this()](const boost::system::error_code& ec,
                                  local::socket s) {
        if (ec == asio::error::operation_aborted || !self->acceptor.is_open())
          return;
        if (ec == asio::error::no_descriptors
            || (ec.category() == boost::system::system_category()
                && ec.value() == ENFILE))
          return self->short_of_descriptors(ec);
        if (!ec)
          self->admit(std::move(s));
        self->accept();
      });
  }

  // grace has no descriptor left for a newcomer (EMFILE, ENFILE): the
  // idlest client makes room, or, with none idle, the socket is tried
  // again in 100 ms (at once, it would spin: it stays readable). Said once
  // per 10 s, with how often it happened.
  void short_of_descriptors(const boost::system::error_code& ec) {
    auto now = std::chrono::steady_clock::now();
    ++refused_for_descriptors;
    if (now - said_short_at >= std::chrono::seconds{10}) {
      spdlog::error("control socket: cannot accept a client: {} ({} times "
                    "since last said); the idlest client makes room",
                    ec.message(), refused_for_descriptors);
      said_short_at = now;
      refused_for_descriptors = 0;
    }
    if (evict_idlest())
      return accept();
    retry.expires_after(std::chrono::milliseconds{100});
    retry.async_wait(
      [self = shared_from_this()](const boost::system::error_code& e) {
        if (!e && self->acceptor.is_open())
          self->accept();
      });
  }

  void admit(local::socket s) {
    // Same user or root only (SO_PEERCRED).
    ucred cred{};
    socklen_t len = sizeof cred;
    auto fd = s.native_handle();
    auto refuse = [&](const std::string& why) {
      auto line = error_line(why) + "\n";
      boost::system::error_code ignored;
      asio::write(s, asio::buffer(line), ignored);
      s.close(ignored);
    };
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0
        || (cred.uid != ::geteuid() && cred.uid != 0))
      return refuse("permission denied: not the user grace runs as");
    if (clients.size() >= limit.max_clients && !evict_idlest())
      return refuse("too many clients");
    auto c = std::make_shared<client>(std::move(s), shared_from_this());
    clients.insert(c);
    c->start();
  }

  // Makes room for a newcomer: the client idle longest (nothing asked,
  // nothing streamed; a connection opened and never written first) is
  // closed. False if every client has something under way.
  bool evict_idlest() {
    std::shared_ptr<client> idlest;
    for (auto& c : clients)
      if (!c->busy && (!idlest || c->idle_since < idlest->idle_since))
        idlest = c;
    if (!idlest)
      return false;
    idlest->close();
    return true;
  }

  void stop() {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    retry.cancel();
    auto all = clients;
    for (auto& c : all)
      c->close();
    clients.clear();
  }

  io_loop& loop;
  local::acceptor acceptor;
  asio::steady_timer retry; // of an accept short of descriptors
  std::chrono::steady_clock::time_point said_short_at{};
  std::uint64_t refused_for_descriptors = 0;
  handler on_request;
  limits limit;
  std::unordered_set<std::shared_ptr<client>> clients;
  bool stopped = false;
};

client::client(local::socket s, std::shared_ptr<control_server::impl> o)
    : socket(std::move(s)), idle(o->loop.context()), owner(std::move(o)) {}

void client::start() {
  arm_idle();
  read_more();
}

void client::arm_idle() {
  idle_since = std::chrono::steady_clock::now();
  idle.expires_after(owner->limit.idle);
  idle.async_wait(
    [self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec && !self->busy)
        self->close_after(error_line("no complete request in time"));
    });
}

void client::read_more() {
  if (reading || closing || draining)
    return;
  reading = true;
  socket.async_read_some(asio::buffer(chunk),
                         [self = shared_from_this()](
                           const boost::system::error_code& ec, std::size_t n) {
                           self->reading = false;
                           if (ec || self->closing) {
                             // The peer is done: what is being written still
                             // goes out.
                             if (self->writing)
                               self->draining = true;
                             else
                               self->close();
                             return;
                           }
                           self->buffer.append(self->chunk, n);
                           self->pump();
                         });
}

// Starts the next request if none is under way; reads on while no complete
// line is waiting (never more than one line's limit).
void client::pump() {
  if (closing || draining)
    return;
  if (!busy)
    next_request();
  if (busy || closing)
    return;
  if (buffer.size() > owner->limit.max_line) {
    close_after(error_line("request too large (over "
                           + std::to_string(owner->limit.max_line / 1024)
                           + " KiB)"));
    return;
  }
  read_more();
}

void client::next_request() {
  for (;;) {
    auto nl = buffer.find('\n');
    if (nl == std::string::npos)
      return;
    auto line = buffer.substr(0, nl);
    buffer.erase(0, nl + 1);
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (line.size() > owner->limit.max_line) {
      close_after(error_line("request too large (over "
                             + std::to_string(owner->limit.max_line / 1024)
                             + " KiB)"));
      return;
    }
    if (line.empty())
      continue;
    busy = true;
    idle.cancel();
    auto* loop = &owner->loop;
    std::weak_ptr<client> weak = shared_from_this();
    owner->on_request(std::move(line), [loop, weak, alive = alive](
                                         std::string answer, bool last) {
      if (!alive->load())
        return false;
      loop->post([weak, answer = std::move(answer), last]() mutable {
        if (auto self = weak.lock())
          self->answer(std::move(answer), last);
      });
      return true;
    });
    return;
  }
}

void client::answer(std::string line, bool last) {
  if (closing || draining)
    return;
  if (out.size() >= owner->limit.max_backlog
      || queued_bytes + line.size() + 1 > owner->limit.max_backlog_bytes) {
    close(); // it does not read what it asked for
    return;
  }
  queued_bytes += line.size() + 1;
  out.push_back(std::move(line) + "\n");
  if (!writing)
    write_next();
  if (!last)
    return; // a stream: more to come, no further requests meanwhile
  busy = false;
  arm_idle();
  pump();
}

void client::write_next() {
  if (out.empty() || closing) {
    writing = false;
    if (draining)
      close();
    return;
  }
  writing = true;
  asio::async_write(socket, asio::buffer(out.front()),
                    [self = shared_from_this()](
                      const boost::system::error_code& ec, std::size_t) {
                      if (ec) {
                        self->close();
                        return;
                      }
                      self->queued_bytes -= self->out.front().size();
                      self->out.pop_front();
                      self->write_next();
                    });
}

void client::close_after(std::string line) {
  if (closing || draining)
    return;
  draining = true;
  idle.cancel();
  queued_bytes += line.size() + 1;
  out.push_back(std::move(line) + "\n");
  if (!writing)
    write_next();
}

void client::close() {
  closing = true;
  alive->store(false);
  boost::system::error_code ignored;
  idle.cancel();
  socket.close(ignored);
  owner->clients.erase(shared_from_this());
}

control_server::control_server(io_loop& loop, std::string path)
    : loop_(loop), path_(std::move(path)) {}

std::unique_ptr<control_server>
control_server::open(io_loop& loop, const std::string& path, handler on_request,
                     failure* error, limits lim) {
  auto fail = [&](std::error_code code,
                  const std::string& why) -> std::unique_ptr<control_server> {
    if (error)
      *error = {code, path + ": " + why};
    return nullptr;
  };
  sockaddr_un probe{};
  if (path.size() >= sizeof probe.sun_path)
    return fail(grace_errc::path_too_long,
                "path too long for a unix socket (at most "
                  + std::to_string(sizeof probe.sun_path - 1) + " bytes)");
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return fail(grace_errc::not_a_socket, "exists and is not a socket");
    if (connect_to(path, std::chrono::milliseconds{500}))
      return fail(grace_errc::another_instance,
                  "another grace answers there (same log_dir?)");
    ::unlink(path.c_str()); // stale: its daemon is gone
  }
  std::unique_ptr<control_server> server{new control_server(loop, path)};
  server->impl_ = std::make_shared<impl>(loop, std::move(on_request), lim);
  std::promise<boost::system::error_code> ready;
  auto done = ready.get_future();
  loop.post([i = server->impl_, path, &ready] {
    boost::system::error_code ec;
    // Created 0600: no window in which others could connect.
    auto old = ::umask(0177);
    i->acceptor.open(local{}, ec);
    if (!ec)
      i->acceptor.bind(local::endpoint{path}, ec);
    ::umask(old);
    if (!ec)
      i->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      ready.set_value(ec);
      return;
    }
    i->accept();
    ready.set_value({});
  });
  auto ec = done.get();
  if (ec) {
    server->impl_.reset();
    return fail(std::error_code{ec.value(), std::generic_category()},
                ec.message());
  }
  return server;
}

control_server::~control_server() {
  if (!impl_)
    return;
  std::promise<void> stopped;
  auto done = stopped.get_future();
  loop_.post([i = impl_, &stopped] {
    i->stop();
    stopped.set_value();
  });
  done.wait();
  ::unlink(path_.c_str());
}

namespace {

enum class outcome { done, closed, timed_out, read_failed, failed };

// Connects to `path`, sends `request` and hands `on_line` each line of the
// answer until it returns false (done) or the daemon closes (closed). A
// read waits at most `timeout` (0: as long as it takes). `error` says why
// on failed (nobody answers, cannot send) and read_failed.
outcome exchange(const std::string& path, const std::string& request,
                 std::chrono::milliseconds timeout,
                 const std::function<bool(const std::string&)>& on_line,
                 std::string* error) {
  auto say = [&](std::string why) {
    if (error)
      *error = std::move(why);
  };
  auto fd
    = connect_to(path, timeout.count() > 0 ? timeout : std::chrono::seconds{5});
  if (!fd) {
    say("no grace answers at " + path + ": " + std::strerror(errno)
        + " (a grace's socket is named by --control PATH or $GRACE_CONTROL; "
          "the default is "
        + default_control_socket + ")");
    return outcome::failed;
  }
  if (timeout.count() == 0) {
    timeval none{}; // a stream may be quiet for long
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
  }
  auto line = request + "\n";
  for (std::size_t sent = 0; sent < line.size();) {
    auto n = ::write(fd.get(), line.data() + sent, line.size() - sent);
    if (n <= 0) {
      say("cannot send to " + path + ": " + std::strerror(errno));
      return outcome::failed;
    }
    sent += static_cast<std::size_t>(n);
  }
  std::string pending;
  char buf[4096];
  for (;;) {
    auto n = ::read(fd.get(), buf, sizeof buf);
    if (n == 0)
      return outcome::closed;
    if (n < 0) {
      if (errno == EAGAIN)
        return outcome::timed_out;
      say("cannot read from " + path + ": " + std::strerror(errno));
      return outcome::read_failed;
    }
    pending.append(buf, static_cast<std::size_t>(n));
    for (auto nl = pending.find('\n'); nl != std::string::npos;
         nl = pending.find('\n')) {
      auto one = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      if (!on_line(one))
        return outcome::done;
    }
  }
}

} // namespace

std::string control_request(const std::string& path, const std::string& request,
                            std::chrono::milliseconds timeout,
                            std::string* error) {
  std::string answer;
  auto o = exchange(
    path, request, timeout,
    [&](const std::string& l) {
      answer = l;
      return false; // one line is the whole answer
    },
    error);
  if (o == outcome::timed_out && error)
    *error = "no answer from " + path + " in time";
  if (o == outcome::closed && error)
    *error = "the connection to " + path + " closed without an answer";
  return o == outcome::done ? answer : std::string{};
}

bool control_stream(const std::string& path, const std::string& request,
                    const std::function<bool(const std::string&)>& on_line,
                    std::string* error) {
  return exchange(path, request, std::chrono::milliseconds{0}, on_line, error)
         != outcome::failed;
}

} // namespace grace::runtime
