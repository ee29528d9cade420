#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <sys/resource.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "runtime/audit_log.hpp"
#include "runtime/incident.hpp"
#include "runtime/incident_reader.hpp"
#include "tests/support/log_capture.hpp"
#include "tests/support/proc.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/wait_until.hpp"

using namespace grace::runtime;
using grace::test::lines_of;
using grace::test::log_capture;
using grace::test::slurp;
using grace::test::temp_dir;
using grace::test::wait_until;
namespace fs = std::filesystem;

namespace {

incident open_incident(const std::string& id, const std::string& component) {
  incident x;
  x.id = id;
  x.component = component;
  x.failure_mode = "crashed";
  x.severity = "high";
  x.detected_us = *parse_utc("2026-11-27T16:43:28.024197Z");
  x.playbook = "restart";
  return x;
}

audit_log::options quick(const std::string& path,
                         audit_log::sync fsync = audit_log::sync::always) {
  audit_log::options o;
  o.path = path;
  o.fsync = fsync;
  o.retry_min = std::chrono::milliseconds{5};
  o.retry_max = std::chrono::milliseconds{20};
  return o;
}

} // namespace

TEST(AuditLog, AppendsWholeLinesInOrder) {
  for (auto fsync : {audit_log::sync::always, audit_log::sync::never}) {
    temp_dir dir;
    auto path = dir.file("sub/dir/incidents.jsonl"); // created on demand
    {
      audit_log log{quick(path, fsync)};
      for (int i = 0; i < 100; ++i)
        log.append("{\"n\":" + std::to_string(i) + "}");
      ASSERT_TRUE(log.flush(grace::test::patience(std::chrono::seconds{5})));
      EXPECT_EQ(log.stats().written, 100u);
      EXPECT_EQ(log.stats().pending, 0u);
      EXPECT_EQ(log.stats().errors, 0u);
    }
    auto lines = lines_of(path);
    ASSERT_EQ(lines.size(), 100u);
    for (int i = 0; i < 100; ++i)
      EXPECT_EQ(lines[static_cast<std::size_t>(i)],
                "{\"n\":" + std::to_string(i) + "}");
  }
}

TEST(AuditLog, ConcurrentWritersLoseAndDuplicateNothing) {
  temp_dir dir;
  auto path = dir.file("incidents.jsonl");
  {
    audit_log log{quick(path, audit_log::sync::never)};
    std::vector<std::thread> writers;
    for (int t = 0; t < 8; ++t)
      writers.emplace_back([&log, t] {
        for (int i = 0; i < 1000; ++i)
          log.append(to_json_line(
            open_incident("inc_" + std::to_string(t) + "_" + std::to_string(i),
                          "root/w" + std::to_string(t))));
      });
    for (auto& w : writers)
      w.join();
  } // the destructor writes whatever is still queued
  std::set<std::string> ids;
  std::size_t n = 0;
  for (auto& line : lines_of(path)) {
    auto x = incident_from_json(line);
    ASSERT_TRUE(x) << line;
    ids.insert(x->id);
    ++n;
  }
  EXPECT_EQ(n, 8000u);
  EXPECT_EQ(ids.size(), 8000u);
}

TEST(AuditLog, IncidentsLeftOpenByAPreviousRunAreAbandoned) {
  temp_dir dir;
  auto path = dir.file("incidents.jsonl");
  {
    std::ofstream out{path};
    auto closed = open_incident("inc_closed", "root/a");
    out << to_json_line(closed) << '\n';
    closed.status = incident_status::resolved;
    closed.closed_us = closed.detected_us + 500;
    closed.mttr_seconds = 0.0005;
    out << to_json_line(closed) << '\n';
    out << to_json_line(open_incident("inc_left_1", "root/b")) << '\n';
    out << to_json_line(open_incident("inc_left_2", "root/c")) << '\n';
  }
  auto logs = log_capture::install();
  {
    audit_log log{quick(path)};
    ASSERT_TRUE(wait_until([&] { return log.stats().recovered; }));
    EXPECT_EQ(log.stats().abandoned, 2u);
    log.append(to_json_line(open_incident("inc_new", "root/d")));
    ASSERT_TRUE(log.flush(grace::test::patience(std::chrono::seconds{5})));
  }
  auto lines = lines_of(path);
  ASSERT_EQ(lines.size(), 7u);
  for (std::size_t i : {4u, 5u}) {
    auto x = incident_from_json(lines[i]);
    ASSERT_TRUE(x);
    EXPECT_EQ(x->status, incident_status::abandoned);
    EXPECT_EQ(x->id, i == 4 ? "inc_left_1" : "inc_left_2");
    EXPECT_TRUE(x->closed_us);
  }
  EXPECT_EQ(incident_from_json(lines[6])->id, "inc_new");
  EXPECT_TRUE(logs->count("inc_left_1"));
  EXPECT_TRUE(find_open(path).open.size() == 1) << "only inc_new";
}

TEST(AuditLog, ATornLastLineIsSkippedAndTheNextLineStartsCleanly) {
  temp_dir dir;
  auto path = dir.file("incidents.jsonl");
  auto whole = to_json_line(open_incident("inc_whole", "root/a"));
  {
    std::ofstream out{path};
    out << whole << '\n' << whole.substr(0, whole.size() / 2); // power loss
  }
  auto logs = log_capture::install();
  {
    audit_log log{quick(path)};
    log.append(to_json_line(open_incident("inc_after", "root/b")));
    ASSERT_TRUE(log.flush(grace::test::patience(std::chrono::seconds{5})));
  }
  EXPECT_TRUE(logs->count("torn"));
  auto lines = lines_of(path);
  ASSERT_EQ(lines.size(), 4u); // whole, torn, whole's abandoned, after
  EXPECT_FALSE(incident_from_json(lines[1]));
  EXPECT_EQ(incident_from_json(lines[2])->status, incident_status::abandoned);
  EXPECT_EQ(incident_from_json(lines[3])->id, "inc_after");
}

TEST(AuditLog, AnUnopenableLogIsReportedAndRetriedUntilItWorks) {
  temp_dir dir;
  auto path = dir.file("incidents.jsonl");
  fs::create_directory(path); // open(2) fails: EISDIR
  auto logs = log_capture::install();
  audit_log log{quick(path)};
  log.append("{\"n\":1}");
  log.append("{\"n\":2}");
  ASSERT_TRUE(wait_until([&] { return log.stats().errors >= 3; }));
  EXPECT_FALSE(log.flush(std::chrono::milliseconds{50}));
  EXPECT_EQ(log.stats().pending, 2u);
  EXPECT_TRUE(logs->count("Is a directory")) << "reported loudly";
  fs::remove(path); // the operator fixes it
  ASSERT_TRUE(log.flush(grace::test::patience(std::chrono::seconds{5})));
  EXPECT_EQ(lines_of(path),
            (std::vector<std::string>{"{\"n\":1}", "{\"n\":2}"}));
}

TEST(AuditLog, AFullDiskIsReportedAndNothingIsDropped) {
  temp_dir dir;
  auto path = dir.file("incidents.jsonl");
  fs::create_symlink("/dev/full", path); // every write: ENOSPC
  auto logs = log_capture::install();
  audit_log log{quick(path)};
  for (int i = 0; i < 5; ++i)
    log.append("{\"n\":" + std::to_string(i) + "}");
  ASSERT_TRUE(wait_until([&] { return log.stats().errors >= 3; }));
  EXPECT_TRUE(logs->count("No space left on device"));
  EXPECT_EQ(log.stats().written, 0u);
  fs::remove(path); // space again
  ASSERT_TRUE(log.flush(grace::test::patience(std::chrono::seconds{5})));
  auto lines = lines_of(path);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines.front(), "{\"n\":0}");
}

TEST(AuditLog, AFragmentADiskLetThroughIsCutOffBeforeTheRetry) {
  temp_dir dir;
  auto path = dir.file("incidents.jsonl");
  // The file may grow 10 bytes past its first line: the second line's
  // first write lands a fragment (then EFBIG, as ENOSPC on a full disk).
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit before{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &before), 0);
  audit_log log{quick(path)};
  log.append("{\"n\":1}");
  ASSERT_TRUE(log.flush(grace::test::patience(std::chrono::seconds{5})));
  rlimit small = before;
  small.rlim_cur = fs::file_size(path) + 10;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  log.append("{\"n\":2,\"text\":\"" + std::string(100, 'x') + "\"}");
  ASSERT_TRUE(wait_until([&] { return log.stats().errors >= 1; }));
  auto during = fs::file_size(path);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &before), 0);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_EQ(during, small.rlim_cur - 10) << "the fragment stayed";
  ASSERT_TRUE(log.flush(grace::test::patience(std::chrono::seconds{5})));
  auto lines = lines_of(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1].size(), 117u);
}

TEST(AuditLog, SnapshotsAreWrittenWholeBeforeLaterLines) {
  temp_dir dir;
  auto path = dir.file("incidents.jsonl");
  auto snap = dir.file("snapshots/inc_1.json");
  {
    audit_log log{quick(path)};
    log.write_file(snap, [] { return std::string{"{\"whole\":true}\n"}; });
    log.append("{\"snapshot\":\"snapshots/inc_1.json\"}");
    ASSERT_TRUE(log.flush(grace::test::patience(std::chrono::seconds{5})));
  }
  EXPECT_EQ(slurp(snap), "{\"whole\":true}\n");
  EXPECT_FALSE(fs::exists(snap + ".tmp"));
  EXPECT_EQ(lines_of(path).size(), 1u);
}
