// Crash consistency of the audit log (SPEC.md section 6): grace SIGKILLed
// at random moments of a crash storm and started again on the same
// log_dir, GRACE_CRASH_KILLS times (20; the stress run asks for 100). After
// each kill nothing of its children is left and every byte the log had is
// still there; at the end, every line is an incident but at most one torn
// line per kill, every incident has its open line and at most one closing
// line after it, and every incident a kill left open was closed
// `abandoned` by the next start.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/e2e/grace_run_fixture.hpp"

namespace grace::test {
namespace {

using namespace std::chrono_literals;

int kills_asked() {
  auto* text = std::getenv("GRACE_CRASH_KILLS");
  return text ? std::max(1, std::atoi(text)) : 20;
}

TEST_F(GraceRun, KilledAtRandomMomentsItsAuditLogStaysWhole) {
  // Four children that crash 60-90 ms after each start, restarted at once
  // and ready 30 ms later: about half of the time each has an incident
  // open, so kills find some open.
  std::string children;
  for (int i = 0; i < 4; ++i) {
    auto name = "c" + std::to_string(i);
    children += "    - {name: " + name + ", ready: {delay: 30ms}, command: ["
                + crashy + ", --stamp, " + dir_ + "/" + name
                + ".stamp, --sleep, \"" + std::to_string(60 + 10 * i)
                + "\", --exit, \"1\"]}\n";
  }
  auto config = write_config(children, "  intensity: 1000000\n  period: 1s\n");
  auto log = dir_ + "/logs/incidents.jsonl";
  auto kills = kills_asked();
  std::random_device seed_source;
  auto seed = seed_source();
  std::mt19937 rng{seed};
  std::uniform_int_distribution<int> pause_ms{0, 300};
  std::string before;
  for (int k = 0; k < kills; ++k) {
    auto g = run(config);
    // Once this run writes (the storm is on), at a random moment of it.
    ASSERT_TRUE(wait_until([&] { return slurp(log).size() > before.size(); }))
      << "kill " << k << ": nothing written\n"
      << err();
    std::this_thread::sleep_for(std::chrono::milliseconds{pause_ms(rng)});
    g->signal(SIGKILL);
    ASSERT_TRUE(g->wait(patience(5s)));
    // Its guardian leaves nothing of its children.
    ASSERT_TRUE(wait_until([&] {
      for (auto pid : pids())
        if (alive(pid))
          return false;
      return true;
    }))
      << "kill " << k << ": a child outlived grace";
    auto now = slurp(log);
    ASSERT_TRUE(now.starts_with(before))
      << "kill " << k << ": the log lost or rewrote what it had (seed " << seed
      << ")";
    before = std::move(now);
  }
  // A last run closes what the last kill left open, then stops cleanly.
  auto last = run(config);
  ASSERT_TRUE(wait_until([&] { return slurp(log).size() > before.size(); }));
  last->signal(SIGTERM);
  ASSERT_EQ(last->wait(patience(20s)), 0) << err();

  auto text = slurp(log);
  ASSERT_TRUE(text.starts_with(before));
  ASSERT_TRUE(text.empty() || text.back() == '\n') << "a clean stop";
  std::map<std::string, std::vector<std::string>> statuses;
  std::size_t lines = 0, torn = 0, abandoned = 0;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);) {
    ++lines;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("incident_id")) {
      ++torn;
      continue;
    }
    auto status = j["status"].get<std::string>();
    abandoned += status == "abandoned";
    statuses[j["incident_id"].get<std::string>()].push_back(status);
  }
  std::printf("crash consistency: %d kills (seed %u): %zu lines, %zu "
              "incidents, %zu closed abandoned, %zu torn lines\n",
              kills, seed, lines, statuses.size(), abandoned, torn);
  RecordProperty("kills", kills);
  RecordProperty("incidents", static_cast<int>(statuses.size()));
  RecordProperty("abandoned", static_cast<int>(abandoned));
  RecordProperty("torn", static_cast<int>(torn));
  EXPECT_LE(torn, static_cast<std::size_t>(kills)) << "at most one per kill";
  EXPECT_GT(statuses.size(), static_cast<std::size_t>(kills))
    << "a storm, not a trickle";
  EXPECT_GT(abandoned, 0u) << "no kill found an incident open: the test "
                              "proves less than it says";
  for (auto& [id, seen] : statuses) {
    ASSERT_FALSE(seen.empty());
    EXPECT_EQ(seen.front(), "open") << id << ": its open line first";
    EXPECT_EQ(seen.size(), 2u) << id << ": open, then closed once";
    if (seen.size() == 2) {
      EXPECT_NE(seen.back(), "open") << id;
    }
  }
}

} // namespace
} // namespace grace::test
