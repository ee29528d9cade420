#include "runtime/readiness.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "runtime/io_loop.hpp"
#include "runtime/resolve.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;

namespace grace::runtime {

namespace {

// What every readiness check shares: try, and on failure try again after
// `first` (`steady` times), then doubling the pause up to `interval`, until
// it passes or is cancelled. `Derived::try_once()` makes one attempt and
// calls passed() or retry().
template <class Derived>
struct polling_check : std::enable_shared_from_this<Derived> {
  polling_check(io_loop& l, std::chrono::microseconds first, int steady,
                std::chrono::microseconds i, cancel_flag c,
                std::function<void()> f)
      : loop(l), interval(i), pause(std::min(first, i)), steady_tries(steady),
        cancel(std::move(c)), on_ready(std::move(f)), timer(l.context()) {}

  bool cancelled() const { return cancel->load(); }

  void passed() {
    if (!cancelled())
      on_ready();
  }

  void retry() {
    if (cancelled())
      return;
    timer.expires_after(pause);
    if (tries++ >= steady_tries)
      pause = std::min(pause * 2, interval);
    timer.async_wait(
      [self = this->shared_from_this()](const boost::system::error_code&) {
        if (!self->cancelled())
          self->try_once();
      });
  }

  io_loop& loop;
  std::chrono::microseconds interval;
  std::chrono::microseconds pause; // before the next attempt
  int steady_tries;                // attempts before the pause doubles
  int tries = 0;
  cancel_flag cancel;
  std::function<void()> on_ready;
  asio::steady_timer timer;
};

struct tcp_attempt : polling_check<tcp_attempt> {
  tcp_attempt(io_loop& l, std::string h, std::uint16_t p,
              std::chrono::milliseconds i, cancel_flag c,
              std::function<void()> f)
      // A server binds within a millisecond or two of its start: look
      // every 250 us for 2 ms (a refused connect on loopback costs ~20 us),
      // then back off to the interval.
      : polling_check(l, std::chrono::microseconds{250}, 8, i, std::move(c),
                      std::move(f)),
        host(std::move(h)), port(p), socket(l.context()) {}

  void try_once() {
    auto address = resolve_host(loop, host, port);
    if (!address)
      return retry();
    boost::system::error_code ec;
    socket.close(ec);
    socket.async_connect(
      tcp::endpoint{*address, port},
      [self = shared_from_this()](const boost::system::error_code& err) {
        boost::system::error_code ignored;
        self->socket.close(ignored);
        if (err)
          return self->retry();
        self->passed();
      });
  }

  std::string host;
  std::uint16_t port;
  tcp::socket socket;
};

struct exec_attempt : polling_check<exec_attempt> {
  exec_attempt(io_loop& l, spawn_options c, std::chrono::milliseconds i,
               cancel_flag f, std::function<void()> r)
      : polling_check(l, i, 0, i, std::move(f), std::move(r)),
        check(std::move(c)) {}

  void try_once() {
    auto result = spawn(check);
    auto* child = std::get_if<child_process>(&result);
    if (!child)
      return retry(); // e.g. the check's binary is missing: keep trying
    watch_exit(loop, child->pid, std::move(child->pidfd),
               [self = shared_from_this()](int, exit_status s) {
                 if (!s.clean())
                   return self->retry();
                 self->passed();
               });
  }

  spawn_options check;
};

} // namespace

std::optional<asio::ip::address>
resolve_host(io_loop& loop, const std::string& host, std::uint16_t port) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (!ec)
    return address;
  tcp::resolver resolver{loop.context()};
  auto results = resolver.resolve(host, std::to_string(port), ec);
  if (ec || results.empty())
    return std::nullopt;
  return results.begin()->endpoint().address();
}

void wait_for_exec(io_loop& loop, spawn_options check,
                   std::chrono::milliseconds interval, cancel_flag cancel,
                   std::function<void()> on_ready) {
  auto attempt = std::make_shared<exec_attempt>(
    loop, std::move(check), interval, std::move(cancel), std::move(on_ready));
  loop.post([attempt] {
    if (!attempt->cancelled())
      attempt->try_once();
  });
}

void wait_for_tcp(io_loop& loop, std::string host, std::uint16_t port,
                  std::chrono::milliseconds interval, cancel_flag cancel,
                  std::function<void()> on_ready) {
  auto attempt
    = std::make_shared<tcp_attempt>(loop, std::move(host), port, interval,
                                    std::move(cancel), std::move(on_ready));
  loop.post([attempt] {
    if (!attempt->cancelled())
      attempt->try_once();
  });
}

} // namespace grace::runtime
