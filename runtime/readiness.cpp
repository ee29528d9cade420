#include "runtime/readiness.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "runtime/io_loop.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;

namespace grace::runtime {

namespace {

struct tcp_attempt : std::enable_shared_from_this<tcp_attempt> {
  tcp_attempt(io_loop& l, std::string h, std::uint16_t p,
              std::chrono::milliseconds i, cancel_flag c,
              std::function<void()> f)
      : loop(l), host(std::move(h)), port(p), interval(i), cancel(std::move(c)),
        on_ready(std::move(f)), socket(l.context()), timer(l.context()) {}

  void try_once() {
    if (cancel->load())
      return;
    boost::system::error_code ec;
    auto address = asio::ip::make_address(host, ec);
    if (ec) {
      // A host name: resolve it synchronously (rare; readiness of remote
      // hosts is not what grace is for, localhost is the common case).
      tcp::resolver resolver{loop.context()};
      auto results = resolver.resolve(host, std::to_string(port), ec);
      if (ec || results.empty())
        return retry();
      address = results.begin()->endpoint().address();
    }
    socket.close(ec);
    socket.async_connect(
      tcp::endpoint{address, port},
      [self = shared_from_this()](const boost::system::error_code& err) {
        boost::system::error_code ignored;
        self->socket.close(ignored);
        if (self->cancel->load())
          return;
        if (!err)
          return self->on_ready();
        self->retry();
      });
  }

  void retry() {
    timer.expires_after(interval);
    timer.async_wait([self = shared_from_this()](
                       const boost::system::error_code&) { self->try_once(); });
  }

  io_loop& loop;
  std::string host;
  std::uint16_t port;
  std::chrono::milliseconds interval;
  cancel_flag cancel;
  std::function<void()> on_ready;
  tcp::socket socket;
  asio::steady_timer timer;
};

} // namespace

namespace {

struct exec_attempt : std::enable_shared_from_this<exec_attempt> {
  exec_attempt(io_loop& l, spawn_options c, std::chrono::milliseconds i,
               cancel_flag f, std::function<void()> r)
      : loop(l), check(std::move(c)), interval(i), cancel(std::move(f)),
        on_ready(std::move(r)), timer(l.context()) {}

  void try_once() {
    if (cancel->load())
      return;
    auto result = spawn(check);
    auto* child = std::get_if<child_process>(&result);
    if (!child)
      return retry(); // e.g. the check's binary is missing: keep trying
    watch_exit(loop, child->pid, std::move(child->pidfd),
               [self = shared_from_this()](int, exit_status s) {
                 if (self->cancel->load())
                   return;
                 if (s.clean())
                   return self->on_ready();
                 self->retry();
               });
  }

  void retry() {
    timer.expires_after(interval);
    timer.async_wait([self = shared_from_this()](
                       const boost::system::error_code&) { self->try_once(); });
  }

  io_loop& loop;
  spawn_options check;
  std::chrono::milliseconds interval;
  cancel_flag cancel;
  std::function<void()> on_ready;
  asio::steady_timer timer;
};

} // namespace

void wait_for_exec(io_loop& loop, spawn_options check,
                   std::chrono::milliseconds interval, cancel_flag cancel,
                   std::function<void()> on_ready) {
  auto attempt = std::make_shared<exec_attempt>(
    loop, std::move(check), interval, std::move(cancel), std::move(on_ready));
  loop.post([attempt] { attempt->try_once(); });
}

void wait_for_tcp(io_loop& loop, std::string host, std::uint16_t port,
                  std::chrono::milliseconds interval, cancel_flag cancel,
                  std::function<void()> on_ready) {
  auto attempt
    = std::make_shared<tcp_attempt>(loop, std::move(host), port, interval,
                                    std::move(cancel), std::move(on_ready));
  loop.post([attempt] { attempt->try_once(); });
}

} // namespace grace::runtime
