#include "runtime/http_response.hpp"

#include <boost/beast/core/buffers_prefix.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;

namespace grace::runtime {

probe_result judge_http_status(int status, const std::string& body,
                               int expect_min, int expect_max,
                               const std::string& where) {
  probe_result r;
  r.output = body.substr(0, 64 * 1024);
  if (status == 429) {
    r.mode = config::failure_mode::rate_limited;
    r.detail = where + ": status 429";
  } else if (status < expect_min || status > expect_max) {
    r.mode = config::failure_mode::api_error;
    r.detail = where + ": status " + std::to_string(status);
  } else {
    r.ok = true;
  }
  return r;
}

probe_result judge_http_response(std::string_view raw, int expect_min,
                                 int expect_max, const std::string& where) {
  http::response_parser<http::string_body> parser;
  parser.body_limit(http_body_limit);
  parser.eager(true);
  beast::error_code ec;
  auto rest = asio::buffer(raw.data(), raw.size());
  while (rest.size() > 0 && !parser.is_done()) {
    auto used = parser.put(rest, ec);
    rest += used;
    if (ec == http::error::need_more) {
      ec = {};
      if (used > 0)
        continue;
    }
    if (ec || used == 0)
      break; // malformed, or more than there is is needed
  }
  // (Beast would take a stream closed before its first byte as complete.)
  auto answered = parser.got_some();
  if (!ec && answered && !parser.is_done())
    parser.put_eof(ec); // the connection closed: a body up to there
  if (ec || !answered || !parser.is_done()) {
    probe_result r;
    r.mode = config::failure_mode::api_error;
    r.detail = where + ": read: "
               + (ec         ? ec.message()
                  : answered ? std::string{"partial message"}
                             : std::string{"no answer"});
    return r;
  }
  auto& res = parser.get();
  return judge_http_status(static_cast<int>(res.result_int()), res.body(),
                           expect_min, expect_max, where);
}

} // namespace grace::runtime
