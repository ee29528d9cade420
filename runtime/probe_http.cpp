// The HTTP probe, on its own: Boost.Beast is heavy to compile.
#include <memory>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "config/units.hpp"
#include "runtime/http_response.hpp"
#include "runtime/io_loop.hpp"
#include "runtime/probes.hpp"
#include "runtime/resolve.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace grace::runtime {

namespace {

using clock_type = std::chrono::steady_clock;
struct http_check : std::enable_shared_from_this<http_check> {
  http_check(io_loop& l, probe_callback d)
      : stream(l.context()), done(std::move(d)) {}

  double elapsed() const {
    return std::chrono::duration<double>(clock_type::now() - started).count();
  }

  void fail(const beast::error_code& ec, const char* what) {
    probe_result r;
    r.value = elapsed();
    if (ec == beast::error::timeout) {
      r.mode = config::failure_mode::api_timeout;
      r.detail = "no answer within " + config::format_duration(timeout);
    } else {
      r.mode = config::failure_mode::api_error;
      r.detail = std::string{what} + ": " + ec.message();
    }
    finish(std::move(r));
  }

  void finish(probe_result r) {
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.close();
    done(std::move(r));
  }

  beast::tcp_stream stream;
  probe_callback done;
  beast::flat_buffer buffer;
  http::request<http::string_body> request;
  http::response_parser<http::string_body> parser;
  std::chrono::milliseconds timeout{};
  int expect_min = 200;
  int expect_max = 399;
  std::string where;
  clock_type::time_point started = clock_type::now();
};

} // namespace

namespace {

// Sends `c->request` to `host:port` and judges the answer; one deadline for
// the whole exchange.
void exchange(io_loop& loop, const std::shared_ptr<http_check>& c,
              const std::string& host, std::uint16_t port) {
  c->parser.body_limit(http_body_limit);
  c->request.version(11);
  c->request.set(http::field::host, host);
  c->request.set(http::field::user_agent, "grace");
  c->request.set(http::field::connection, "close");
  auto address = resolve_host(loop, host, port);
  if (!address)
    return c->fail(asio::error::host_not_found, "resolve");
  c->stream.expires_after(c->timeout);
  c->stream.async_connect(
    tcp::endpoint{*address, port}, [c](const beast::error_code& err) {
      if (err)
        return c->fail(err, "connect");
      http::async_write(
        c->stream, c->request, [c](const beast::error_code& werr, std::size_t) {
          if (werr)
            return c->fail(werr, "send");
          http::async_read(c->stream, c->buffer, c->parser,
                           [c](const beast::error_code& rerr, std::size_t) {
                             if (rerr)
                               return c->fail(rerr, "read");
                             auto& res = c->parser.get();
                             auto r = judge_http_status(
                               static_cast<int>(res.result_int()), res.body(),
                               c->expect_min, c->expect_max, c->where);
                             r.value = c->elapsed();
                             c->finish(std::move(r));
                           });
        });
    });
}

} // namespace

void probe_http(io_loop& loop, const std::string& host, std::uint16_t port,
                const std::string& target, int expect_min, int expect_max,
                std::chrono::milliseconds timeout, probe_callback done) {
  auto c = std::make_shared<http_check>(loop, std::move(done));
  c->timeout = timeout;
  c->expect_min = expect_min;
  c->expect_max = expect_max;
  c->where = host + ":" + std::to_string(port) + target;
  c->request.method(http::verb::get);
  c->request.target(target);
  exchange(loop, c, host, port);
}

void http_post(io_loop& loop, const std::string& host, std::uint16_t port,
               const std::string& target, std::string json,
               std::chrono::milliseconds timeout, probe_callback done) {
  auto c = std::make_shared<http_check>(loop, std::move(done));
  c->timeout = timeout;
  c->where = host + ":" + std::to_string(port) + target;
  c->request.method(http::verb::post);
  c->request.target(target);
  c->request.set(http::field::content_type, "application/json");
  c->request.body() = std::move(json);
  c->request.prepare_payload();
  exchange(loop, c, host, port);
}

} // namespace grace::runtime
