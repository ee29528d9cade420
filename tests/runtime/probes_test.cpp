#include <thread>

#include <gtest/gtest.h>

#include "runtime/http_response.hpp"
#include "runtime/probes.hpp"

using namespace grace::runtime;
using namespace std::chrono_literals;

namespace {

probe_result output(const std::string& text) {
  probe_result r;
  r.ok = true;
  r.output = text;
  return r;
}

} // namespace

TEST(Kpi, TheFirstNumberOfTheOutputIsJudged) {
  kpi_rule rule;
  rule.above = 100;
  kpi_memory memory;
  auto ok = judge_kpi(output("depth 42 items"), rule, memory);
  EXPECT_TRUE(ok.ok);
  EXPECT_EQ(ok.value, 42);
  auto bad = judge_kpi(output("depth 420 items"), rule, memory);
  EXPECT_FALSE(bad.ok);
  EXPECT_EQ(bad.mode, grace::config::failure_mode::kpi_threshold);
  EXPECT_NE(bad.detail.find("420 above 100"), std::string::npos) << bad.detail;
}

TEST(Kpi, OutOfBoundsMustLastForItsDuration) {
  kpi_rule rule;
  rule.below = 1;
  rule.sustained = 50ms;
  kpi_memory memory;
  EXPECT_TRUE(judge_kpi(output("0"), rule, memory).ok) << "not for long yet";
  EXPECT_TRUE(judge_kpi(output("5"), rule, memory).ok);
  EXPECT_FALSE(memory.out_since) << "back in bounds: the clock restarts";
  EXPECT_TRUE(judge_kpi(output("0"), rule, memory).ok);
  auto until = std::chrono::steady_clock::now() + 60ms;
  while (std::chrono::steady_clock::now() < until)
    std::this_thread::yield();
  EXPECT_FALSE(judge_kpi(output("0"), rule, memory).ok);
}

TEST(Kpi, AnUnreadableKpiFailsAtOnce) {
  kpi_rule rule;
  rule.above = 1;
  rule.sustained = 1h;
  kpi_memory memory;
  auto none = judge_kpi(output("nothing here"), rule, memory);
  EXPECT_FALSE(none.ok);
  EXPECT_EQ(none.detail, "no number in the output");
  rule.json_pointer = "/a/b";
  EXPECT_EQ(judge_kpi(output("{\"a\":{}}"), rule, memory).detail,
            "no number at /a/b");
  EXPECT_EQ(judge_kpi(output("not json"), rule, memory).detail,
            "no number at /a/b");
  EXPECT_EQ(judge_kpi(output("{\"a\":{\"b\":\"0.5\"}}"), rule, memory).value,
            0.5);
  probe_result failed;
  failed.detail = "exit code 2";
  EXPECT_EQ(judge_kpi(failed, rule, memory).detail,
            "cannot read the KPI: exit code 2");
}

TEST(HttpResponse, IsJudgedByItsStatusWithItsBodyAsOutput) {
  auto ok = judge_http_response("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n"
                                "{\"up\": 42}\n",
                                200, 399, "h:1/health");
  EXPECT_TRUE(ok.ok) << ok.detail;
  EXPECT_EQ(ok.output, "{\"up\": 42}\n");
  auto sick = judge_http_response("HTTP/1.1 503 Service Unavailable\r\n"
                                  "Content-Length: 0\r\n\r\n",
                                  200, 399, "h:1/health");
  EXPECT_FALSE(sick.ok);
  EXPECT_EQ(sick.mode, grace::config::failure_mode::api_error);
  EXPECT_EQ(sick.detail, "h:1/health: status 503");
  auto limited = judge_http_response(
    "HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\n\r\n", 200, 399,
    "h:1/health");
  EXPECT_EQ(limited.mode, grace::config::failure_mode::rate_limited);
  // Chunked, and a body that lasts until the server closes.
  auto chunked = judge_http_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: "
                                     "chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
                                     200, 399, "h:1/");
  EXPECT_TRUE(chunked.ok) << chunked.detail;
  EXPECT_EQ(chunked.output, "abc");
  auto until_close
    = judge_http_response("HTTP/1.0 200 OK\r\n\r\nall of it", 200, 399, "h:1/");
  EXPECT_TRUE(until_close.ok) << until_close.detail;
  EXPECT_EQ(until_close.output, "all of it");
}

TEST(HttpResponse, AMalformedOrIncompleteOneIsAnApiError) {
  for (auto raw : {"", "garbage\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Len",
                   "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
                   "HTTP/1.1 2000 OK\r\n\r\n"}) {
    auto r = judge_http_response(raw, 200, 399, "h:1/");
    EXPECT_FALSE(r.ok) << "[" << raw << "] " << r.detail;
    EXPECT_EQ(r.mode, grace::config::failure_mode::api_error) << raw;
    EXPECT_TRUE(r.detail.starts_with("h:1/: read: ")) << r.detail;
  }
}
