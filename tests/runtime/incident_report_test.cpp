#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/incident.hpp"
#include "runtime/incident_report.hpp"
#include "tests/support/temp_dir.hpp"

using namespace grace::runtime;
using grace::test::temp_dir;

namespace {

const std::int64_t t0 = *parse_utc("2026-11-27T16:00:00.000000Z");

incident make(const std::string& id, const std::string& component,
              const std::string& mode, incident_status status,
              std::int64_t detected_us, std::optional<double> mttr = {},
              std::optional<double> ttd = {}) {
  incident x;
  x.id = id;
  x.component = component;
  x.failure_mode = mode;
  x.severity = "high";
  x.status = status;
  x.detected_us = detected_us;
  if (status != incident_status::open)
    x.closed_us = detected_us + 1000;
  x.mttr_seconds = mttr;
  x.ttd_seconds = ttd;
  x.playbook = "restart";
  return x;
}

// Writes the open line and then, unless it stays open, the closing line.
void write_incident(std::ostream& out, incident x) {
  auto closed = x;
  x.status = incident_status::open;
  x.closed_us.reset();
  x.mttr_seconds.reset();
  out << to_json_line(x) << '\n';
  if (closed.status != incident_status::open)
    out << to_json_line(closed) << '\n';
}

} // namespace

TEST(LatencyStats, KnownAnswersBelowTwoMillisecondsAreExact) {
  latency_stats s;
  for (int k = 100; k >= 1; --k)
    s.add(k * 10e-6); // 10us .. 1000us, in reverse
  EXPECT_EQ(s.count(), 100u);
  EXPECT_DOUBLE_EQ(s.min(), 10e-6);
  EXPECT_DOUBLE_EQ(s.max(), 1000e-6);
  EXPECT_NEAR(s.mean(), 505e-6, 1e-12);
  // Nearest rank: the smallest value with at least p % at or below it.
  EXPECT_DOUBLE_EQ(s.percentile(50), 500e-6);
  EXPECT_DOUBLE_EQ(s.percentile(90), 900e-6);
  EXPECT_DOUBLE_EQ(s.percentile(99), 990e-6);
  EXPECT_DOUBLE_EQ(s.percentile(100), 1000e-6);
  EXPECT_DOUBLE_EQ(s.percentile(0.1), 10e-6);
}

TEST(LatencyStats, LargeValuesAreWithinATenthOfAPercent) {
  latency_stats s;
  for (int k = 1; k <= 1000; ++k)
    s.add(k * 0.0371); // 37 ms .. 37 s
  for (auto [p, want] : {std::pair{50.0, 500 * 0.0371},
                         {90.0, 900 * 0.0371},
                         {99.0, 990 * 0.0371}}) {
    auto got = s.percentile(p);
    EXPECT_LE(got, want) << p;
    EXPECT_GE(got, want * 0.999) << p;
  }
  EXPECT_DOUBLE_EQ(s.max(), 1000 * 0.0371);
}

TEST(LatencyStats, OneValueAndNoValue) {
  latency_stats none;
  EXPECT_EQ(none.percentile(50), 0);
  latency_stats one;
  one.add(0.25);
  EXPECT_DOUBLE_EQ(one.percentile(50), 0.25);
  EXPECT_DOUBLE_EQ(one.percentile(99), 0.25);
}

TEST(LatencyStats, MergingEqualsAddingEverythingToOne) {
  latency_stats a, b, all;
  for (int k = 0; k < 5000; ++k) {
    auto v = (k * 7919 % 10007) * 1e-5;
    (k % 3 ? a : b).add(v);
    all.add(v);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.buckets(), all.buckets());
  EXPECT_DOUBLE_EQ(a.min(), all.min());
  EXPECT_DOUBLE_EQ(a.max(), all.max());
  for (double p : {50.0, 90.0, 99.0})
    EXPECT_DOUBLE_EQ(a.percentile(p), all.percentile(p));
}

class Report : public ::testing::Test {
protected:
  // A log with known answers: four resolved crashes of root/a, a failed
  // exit of root/b, a held root/c, root/d still open, one garbage line in
  // the middle and a torn last line.
  std::string fixture() {
    std::ostringstream out;
    auto r = incident_status::resolved;
    write_incident(out,
                   make("inc_1", "root/a", "crashed", r, t0, 0.0010, 0.000040));
    write_incident(out, make("inc_2", "root/a", "crashed", r, t0 + 1'000'000,
                             0.0020, 0.000060));
    out << "this is not json\n";
    write_incident(
      out, make("inc_3", "root/a", "crashed", r, t0 + 2'000'000, 0.0015));
    write_incident(
      out, make("inc_4", "root/a", "crashed", r, t0 + 3'000'000, 0.0005));
    write_incident(out, make("inc_5", "root/b", "exited",
                             incident_status::failed, t0 + 4'000'000));
    write_incident(out, make("inc_6", "root/c", "ready_timeout",
                             incident_status::held, t0 + 5'000'000));
    write_incident(out, make("inc_7", "root/d", "crashed",
                             incident_status::open, t0 + 6'000'000));
    out << R"({"incident_id":"inc_8","component":"root/a","failure_m)";
    return dir_.write("incidents.jsonl", out.str());
  }

  temp_dir dir_;
};

TEST_F(Report, FixtureHasKnownAnswers) {
  auto s = summarize(fixture(), 0);
  EXPECT_EQ(s.total.closed, 6u);
  EXPECT_EQ(s.open_now(), 1u);
  EXPECT_EQ(s.total.resolved(), 4u);
  EXPECT_DOUBLE_EQ(s.total.success_rate(), 4.0 / 6.0);
  EXPECT_EQ(s.counts.bad_lines, 2u);
  EXPECT_TRUE(s.counts.torn_tail);
  auto& crashed = s.by_mode.at("crashed");
  EXPECT_EQ(crashed.mttr.count(), 4u);
  // Sorted: 0.5, 1.0, 1.5, 2.0 ms.
  EXPECT_DOUBLE_EQ(crashed.mttr.min(), 0.0005);
  EXPECT_DOUBLE_EQ(crashed.mttr.percentile(50), 0.0010);
  EXPECT_DOUBLE_EQ(crashed.mttr.percentile(90), 0.0020);
  EXPECT_DOUBLE_EQ(crashed.mttr.max(), 0.0020);
  EXPECT_EQ(crashed.ttd.count(), 2u);
  EXPECT_DOUBLE_EQ(crashed.ttd.percentile(50), 0.000040);
  EXPECT_EQ(s.by_component.at("root/b").by_status.at(incident_status::failed),
            1u);
  EXPECT_EQ(s.by_component.at("root/c").by_status.at(incident_status::held),
            1u);
  EXPECT_EQ(s.by_component.count("root/d"), 0u) << "still open";
  ASSERT_EQ(s.slowest.size(), 4u);
  EXPECT_EQ(s.slowest.front().id, "inc_2");
  EXPECT_EQ(s.slowest.back().id, "inc_4");
  EXPECT_EQ(s.first_us, t0);
  EXPECT_EQ(s.last_us, t0 + 5'000'000);
}

TEST_F(Report, SinceKeepsOnlyRecentIncidents) {
  auto s = summarize(fixture(), t0 + 2'000'000);
  EXPECT_EQ(s.total.closed, 4u); // inc_3 .. inc_6
  EXPECT_EQ(s.by_mode.at("crashed").mttr.count(), 2u);
  EXPECT_EQ(s.open_now(), 1u);
}

TEST_F(Report, PeopleAndScriptsGetTheSameFigures) {
  auto s = summarize(fixture(), 0);
  std::ostringstream text;
  print_report(text, s, "incidents.jsonl", false);
  auto t = text.str();
  for (auto want : {"6 closed, 1 open", "success rate 66.7%", "resolved 4",
                    "held 1", "root/a", "crashed",
                    "2 unreadable line(s) skipped", "MTTR histogram", "inc_2"})
    EXPECT_NE(t.find(want), std::string::npos) << want << "\n" << t;
  EXPECT_EQ(t.find("\033["), std::string::npos) << "no colour when asked";
  // The MTTR table is as wide as the rows it shows: `ready_timeout` (held,
  // no MTTR) does not widen it.
  EXPECT_NE(t.find("\n" + std::string(17, ' ') + "count"), std::string::npos)
    << t;
  auto j = nlohmann::json::parse(report_json(s, "incidents.jsonl"));
  EXPECT_EQ(j["closed"], 6);
  EXPECT_EQ(j["open"], 1);
  EXPECT_EQ(j["bad_lines"], 2);
  EXPECT_EQ(j["torn_last_line"], true);
  EXPECT_DOUBLE_EQ(j["success_rate"].get<double>(), 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(
    j["by_failure_mode"]["crashed"]["mttr_seconds"]["p50"].get<double>(),
    0.0010);
  EXPECT_EQ(j["by_component"]["root/c"]["by_status"]["held"], 1);
  EXPECT_EQ(j["slowest"][0]["incident_id"], "inc_2");
  std::uint64_t in_histogram = 0;
  for (auto& b : j["mttr_histogram"])
    in_histogram += b["count"].get<std::uint64_t>();
  EXPECT_EQ(in_histogram, 4u);
}

TEST_F(Report, ReadingInPartsGivesTheSameAnswer) {
  std::ofstream out{dir_.file("big.jsonl")};
  for (int i = 0; i < 3'000; ++i) {
    auto x = make("inc_" + std::to_string(i), "root/c" + std::to_string(i % 37),
                  i % 5 ? "crashed" : "exited",
                  i % 11 ? incident_status::resolved : incident_status::failed,
                  t0 + i * 1000, (i % 997) * 1e-4, (i % 13) * 1e-6);
    x.actions.push_back(
      {"restart",
       true,
       t0,
       {{"detail", std::string(120, 'x')}, {"pid", std::int64_t{i}}}});
    write_incident(out, x);
  }
  out.close();
  // Parts of 64 KiB: three threads, each starting mid-file.
  auto one = summarize(dir_.file("big.jsonl"), 0, 1);
  auto three = summarize(dir_.file("big.jsonl"), 0, 3, 64 << 10);
  EXPECT_EQ(one.total.closed, 3'000u);
  EXPECT_EQ(three.total.closed, one.total.closed);
  EXPECT_EQ(three.counts.lines, one.counts.lines);
  EXPECT_EQ(three.counts.bad_lines, 0u);
  EXPECT_EQ(three.open_now(), 0u);
  EXPECT_EQ(three.total.mttr.buckets(), one.total.mttr.buckets());
  EXPECT_EQ(three.by_component.size(), 37u);
  for (auto& [name, g] : one.by_component)
    EXPECT_EQ(three.by_component.at(name).closed, g.closed) << name;
  EXPECT_EQ(three.slowest.front().mttr_seconds,
            one.slowest.front().mttr_seconds);
}

TEST(ReportFile, AMissingLogThrows) {
  EXPECT_THROW(summarize("/nonexistent/incidents.jsonl", 0), std::system_error);
}
