#include <regex>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/incident.hpp"

using namespace grace::runtime;

namespace {

incident sample() {
  incident x;
  x.id = "inc_20261127_164328_024197";
  x.component = "root/api";
  x.failure_mode = "port_in_use";
  x.severity = "high";
  x.status = incident_status::resolved;
  x.detected_us = *parse_utc("2026-11-27T16:43:28.024197Z");
  x.closed_us = *parse_utc("2026-11-27T16:43:28.027982Z");
  x.mttr_seconds = 0.003785;
  x.ttd_seconds = 0.000041;
  x.playbook = "free_port";
  x.attempts = 1;
  x.failures = 2;
  x.actions.push_back({"free_port",
                       true,
                       x.detected_us + 100,
                       {{"holder_pid", std::int64_t{4242}}}});
  x.actions.push_back(
    {"start", true, x.detected_us + 200, {{"pid", std::int64_t{4250}}}});
  x.actions.push_back({"verify", false, x.detected_us + 300, {}});
  x.snapshot = "snapshots/inc_20261127_164328_024197.json";
  x.detail = {{"port", std::int64_t{9999}},
              {"holder_cmd", std::string{"python3 -m \"http.server\"\n"}},
              {"ratio", 0.25},
              {"stale", true}};
  return x;
}

} // namespace

TEST(Incident, RoundTripsThroughItsLine) {
  auto x = sample();
  auto line = to_json_line(x);
  EXPECT_EQ(line.find('\n'), std::string::npos) << "one line";
  std::string error;
  auto back = incident_from_json(line, &error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(*back, x);
}

TEST(Incident, LineHasTheSpecKeysInOrder) {
  auto line = to_json_line(sample());
  auto j = nlohmann::ordered_json::parse(line);
  std::vector<std::string> keys;
  for (auto& [k, v] : j.items())
    keys.push_back(k);
  std::vector<std::string> spec{
    "incident_id", "component",   "failure_mode", "severity",     "status",
    "detected_at", "resolved_at", "closed_at",    "mttr_seconds", "ttd_seconds",
    "success",     "playbook",    "attempts",     "failures",     "actions",
    "snapshot",    "caused_by",   "detail"};
  EXPECT_EQ(keys, spec);
  EXPECT_EQ(j["success"], true);
  EXPECT_EQ(j["resolved_at"], "2026-11-27T16:43:28.027982Z");
  EXPECT_TRUE(j["caused_by"].is_null());
  EXPECT_EQ(j["actions"][0]["step"], "free_port");
  EXPECT_EQ(j["actions"][0]["holder_pid"], 4242);
}

TEST(Incident, OnlyResolvedIsASuccessAndHasAResolvedAt) {
  for (auto status : {incident_status::open, incident_status::failed,
                      incident_status::escalated, incident_status::held,
                      incident_status::abandoned}) {
    auto x = sample();
    x.status = status;
    x.mttr_seconds.reset();
    auto j = nlohmann::json::parse(to_json_line(x));
    EXPECT_EQ(j["success"], false) << to_string(status);
    EXPECT_TRUE(j["resolved_at"].is_null()) << to_string(status);
    EXPECT_EQ(j["status"], std::string{to_string(status)});
  }
}

TEST(Incident, BadBytesInAReasonAreReplacedNotThrown) {
  auto x = sample();
  x.detail = {{"reason", std::string{"bad \xff\xfe bytes"}}};
  auto line = to_json_line(x);
  EXPECT_TRUE(incident_from_json(line));
}

TEST(Incident, GarbageAndTornLinesAreRejectedWithAReason) {
  auto line = to_json_line(sample());
  std::string error;
  for (auto bad :
       {std::string{}, std::string{"{"}, std::string{"[1,2]"},
        line.substr(0, line.size() / 2), std::string{R"({"incident_id":"x"})"},
        std::string{R"({"incident_id":"x","component":"c",)"
                    R"("failure_mode":"m","status":"bogus",)"
                    R"("detected_at":"2026-11-27T16:43:28.024197Z"})"}}) {
    error.clear();
    EXPECT_FALSE(incident_from_json(bad, &error)) << bad;
    EXPECT_FALSE(error.empty());
  }
}

TEST(Incident, KeysOfAnotherTypeAreReadAroundNeverThrown) {
  // Found by tests/fuzz/incident_line_fuzz: an action's "ok" holding a
  // string threw from the JSON library (std::terminate).
  std::string line = R"({"incident_id":"x","component":"c",)"
                     R"("failure_mode":"crashed","status":"resolved",)"
                     R"("detected_at":"2026-11-27T16:43:28.024197Z",)"
                     R"("attempts":1e300,"failures":-5,)"
                     R"("actions":[{"step":7,"ok":"2026-12-06T05:28:42Z"}]})";
  std::string error;
  auto x = incident_from_json(line, &error);
  ASSERT_TRUE(x) << error;
  ASSERT_EQ(x->actions.size(), 1u);
  EXPECT_EQ(x->actions[0].step, "");
  EXPECT_FALSE(x->actions[0].ok);
  EXPECT_EQ(x->attempts, 1'000'000'000);
  EXPECT_EQ(x->failures, 0);
}

TEST(Incident, UtcTimesHaveMicroseconds) {
  EXPECT_EQ(format_utc(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(format_utc(1'795'884'208'024'197), "2026-11-28T16:43:28.024197Z");
  for (std::int64_t us :
       {std::int64_t{0}, std::int64_t{1}, std::int64_t{1'795'884'208'024'197},
        std::int64_t{4'102'444'799'999'999}})
    EXPECT_EQ(parse_utc(format_utc(us)), us);
  for (auto bad :
       {"", "2026-11-27 16:43:28.024197Z", "2026-11-27T16:43:28.024197",
        "2026-13-27T16:43:28.024197Z", "2026-11-27T16:43:28.02419xZ"})
    EXPECT_FALSE(parse_utc(bad)) << bad;
}

TEST(Incident, IdsFollowTheSeedFormatAndStayUniqueUnderBursts) {
  incident_ids ids;
  std::regex format{R"(inc_\d{8}_\d{6}_\d{6}(_\d+)?)"};
  auto at = *parse_utc("2026-11-27T16:43:28.024197Z");
  EXPECT_EQ(ids.next(at), "inc_20261127_164328_024197");
  EXPECT_EQ(ids.next(at), "inc_20261127_164328_024197_2");
  EXPECT_EQ(ids.next(at), "inc_20261127_164328_024197_3");
  std::set<std::string> seen;
  // A burst: 10,000 incidents over 100 microseconds, slightly out of order.
  for (int i = 0; i < 10'000; ++i) {
    auto us = at + 1000 + (i % 100) - (i % 7);
    auto id = ids.next(us);
    EXPECT_TRUE(std::regex_match(id, format)) << id;
    EXPECT_TRUE(seen.insert(id).second) << "duplicate " << id;
  }
}

TEST(Incident, StatusNamesRoundTrip) {
  for (auto s : {incident_status::open, incident_status::resolved,
                 incident_status::failed, incident_status::escalated,
                 incident_status::held, incident_status::abandoned})
    EXPECT_EQ(incident_status_from(to_string(s)), s);
  EXPECT_FALSE(incident_status_from("fine"));
}
