#include <csignal>

#include <gtest/gtest.h>

#include "config/defaults.hpp"
#include "tests/config/config_test_util.hpp"

using namespace grace::config;
using namespace std::chrono_literals;
using grace::test::load;

namespace {

const grace_config& ok(const load_result& r) {
  for (auto& e : r.errors)
    ADD_FAILURE() << to_string(e);
  if (!r.config)
    throw std::runtime_error("config did not load");
  return *r.config;
}

const child_spec& child_at(const supervisor_spec& sup, std::size_t i) {
  return std::get<child_spec>(sup.children.at(i).node);
}

const supervisor_spec& sup_at(const supervisor_spec& sup, std::size_t i) {
  return std::get<supervisor_spec>(sup.children.at(i).node);
}

} // namespace

TEST(Loader, MinimalConfigGetsEveryDefault) {
  auto r = load(R"(grace: 1
supervisor:
  children:
    - name: app
      command: [./bin/app, --port, 8080]
)");
  auto& cfg = ok(r);
  EXPECT_EQ(cfg.version, 1);
  EXPECT_EQ(cfg.log_dir, "/etc/grace/logs");
  EXPECT_FALSE(cfg.metrics);
  EXPECT_FALSE(cfg.restart_budget) << "no node-wide limit unless asked";
  EXPECT_EQ(cfg.fsync, fsync_policy::always);
  EXPECT_EQ(cfg.root.name, "root");
  EXPECT_EQ(child_at(cfg.root, 0).stop_signal, SIGTERM);
  EXPECT_EQ(cfg.root.path, "root");
  EXPECT_EQ(cfg.root.strategy, strategy::one_for_one);
  EXPECT_EQ(cfg.root.intensity, 5);
  EXPECT_EQ(cfg.root.period, 10s);
  EXPECT_EQ(cfg.root.on_exhausted, exhausted_action::escalate);
  auto& app = child_at(cfg.root, 0);
  EXPECT_EQ(app.path, "root/app");
  EXPECT_EQ(app.argv,
            (std::vector<std::string>{"/etc/grace/bin/app", "--port", "8080"}));
  EXPECT_EQ(app.cwd, "/etc/grace");
  EXPECT_EQ(app.restart, restart_type::permanent);
  EXPECT_EQ(app.shutdown.how, shutdown_spec::kind::timeout);
  EXPECT_EQ(app.shutdown.timeout, 5s);
  EXPECT_EQ(app.ready.how, ready_spec::kind::running);
  EXPECT_EQ(app.backoff.min, 100ms);
  EXPECT_EQ(app.backoff.max, 10s);
  EXPECT_EQ(app.backoff.factor, 2.0);
  EXPECT_EQ(app.backoff.jitter, 0.1);
  EXPECT_EQ(app.where.line, 4);
  EXPECT_EQ(app.where.column, 7);
}

TEST(Loader, ReadsTheSpecExample) {
  auto r = load(R"(grace: 1
log_dir: /var/log/grace
metrics: 127.0.0.1:9464
audit: {fsync: never}
defaults: {shutdown: 3s, backoff: {min: 50ms, max: 5s, factor: 3, jitter: 0}}
supervisor:
  name: root
  strategy: one_for_all
  intensity: 3
  period: 20s
  on_exhausted: hold
  children:
    - name: db
      command: [./bin/fake-db, --port, "5433"]
      restart: transient
      shutdown: brutal_kill
      stop_signal: INT
      ports: [5433]
      ready: {tcp: 5433, within: 5s}
      env: {LOG_LEVEL: info, RETRIES: 3}
      cwd: data
      user: nobody
      limits: {nofile: 4096, core: 0, as: 2GiB, cpu: 1m}
      on: {resource_spike: leaky, port_in_use: free_port}
      severity: {crashed: critical}
    - name: api
      command: [./bin/api, --port, "9999"]
      ports: [9999]
      ready: {notify: true, within: 5s}
      depends_on: [root/db]
      probes:
        - {kind: http, url: "http://127.0.0.1:9999/health", every: 1s, timeout: 300ms, failures: 2}
        - {kind: heartbeat, within: 2s}
    - supervisor:
        name: workers
        strategy: rest_for_one
        intensity: 5
        period: 10s
        children:
          - {name: w, command: [./bin/worker], replicas: 4}
playbooks:
  leaky:
    steps: [snapshot, {signal: SIGUSR1}, {wait: 200ms}, restart, {verify: {within: 5s}}]
    max_attempts: 2
    on_failure: safe_hold
)");
  auto& cfg = ok(r);
  EXPECT_EQ(cfg.log_dir, "/var/log/grace");
  ASSERT_TRUE(cfg.metrics);
  EXPECT_EQ(cfg.metrics->host, "127.0.0.1");
  EXPECT_EQ(cfg.metrics->port, 9464);
  EXPECT_EQ(cfg.fsync, fsync_policy::never);
  EXPECT_EQ(cfg.root.strategy, strategy::one_for_all);
  EXPECT_EQ(cfg.root.intensity, 3);
  EXPECT_EQ(cfg.root.period, 20s);
  EXPECT_EQ(cfg.root.on_exhausted, exhausted_action::hold);
  ASSERT_EQ(cfg.root.children.size(), 3u);

  auto& db = child_at(cfg.root, 0);
  EXPECT_EQ(db.restart, restart_type::transient);
  EXPECT_EQ(db.shutdown.how, shutdown_spec::kind::brutal_kill);
  EXPECT_EQ(db.stop_signal, SIGINT);
  EXPECT_EQ(db.ports, std::vector<std::uint16_t>{5433});
  EXPECT_EQ(db.ready.how, ready_spec::kind::tcp);
  EXPECT_EQ(db.ready.port, 5433);
  EXPECT_EQ(db.ready.host, "127.0.0.1");
  EXPECT_EQ(db.ready.within, 5s);
  EXPECT_EQ(db.env, (std::vector<std::pair<std::string, std::string>>{
                      {"LOG_LEVEL", "info"}, {"RETRIES", "3"}}));
  EXPECT_EQ(db.cwd, "/etc/grace/data");
  EXPECT_EQ(db.user, "nobody");
  ASSERT_EQ(db.limits.size(), 4u);
  EXPECT_EQ(db.limits[0].name, "nofile");
  EXPECT_EQ(db.limits[0].value, 4096u);
  EXPECT_EQ(db.limits[2].name, "as");
  EXPECT_EQ(db.limits[2].value, 2ull << 30);
  EXPECT_EQ(db.limits[3].name, "cpu");
  EXPECT_EQ(db.limits[3].value, 60u);
  EXPECT_EQ(db.on.at(failure_mode::resource_spike).name, "leaky");
  EXPECT_EQ(db.on.at(failure_mode::port_in_use).name, "free_port");
  EXPECT_EQ(db.severity.at(failure_mode::crashed), severity::critical);
  EXPECT_EQ(db.backoff.min, 50ms);
  EXPECT_EQ(db.backoff.factor, 3.0);

  auto& api = child_at(cfg.root, 1);
  EXPECT_EQ(api.shutdown.timeout, 3s); // from defaults
  EXPECT_EQ(api.ready.how, ready_spec::kind::notify);
  ASSERT_EQ(api.depends_on.size(), 1u);
  EXPECT_EQ(api.depends_on[0].name, "root/db");
  ASSERT_EQ(api.probes.size(), 2u);
  EXPECT_EQ(api.probes[0].name, "http");
  EXPECT_EQ(api.probes[0].timeout, 300ms);
  EXPECT_EQ(api.probes[0].failures, 2);
  auto& http = std::get<http_probe>(api.probes[0].check);
  EXPECT_EQ(http.host, "127.0.0.1");
  EXPECT_EQ(http.port, 9999);
  EXPECT_EQ(http.target, "/health");
  EXPECT_EQ(http.expect_min, 200);
  EXPECT_EQ(http.expect_max, 399);
  EXPECT_EQ(std::get<heartbeat_probe>(api.probes[1].check).within, 2s);

  auto& workers = sup_at(cfg.root, 2);
  EXPECT_EQ(workers.path, "root/workers");
  EXPECT_EQ(workers.strategy, strategy::rest_for_one);
  EXPECT_EQ(workers.shutdown.how, shutdown_spec::kind::infinity);
  ASSERT_EQ(workers.children.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    auto& w = child_at(workers, static_cast<std::size_t>(i));
    EXPECT_EQ(w.name, "w-" + std::to_string(i));
    EXPECT_EQ(w.path, "root/workers/w-" + std::to_string(i));
    EXPECT_EQ(w.replica, i);
  }

  auto& leaky = cfg.playbooks.at("leaky");
  ASSERT_EQ(leaky.steps.size(), 5u);
  EXPECT_EQ(leaky.steps[0].what, step_spec::kind::snapshot);
  EXPECT_EQ(leaky.steps[1].what, step_spec::kind::signal);
  EXPECT_EQ(leaky.steps[1].signal, SIGUSR1);
  EXPECT_EQ(leaky.steps[2].wait, 200ms);
  EXPECT_EQ(leaky.steps[3].what, step_spec::kind::restart);
  EXPECT_EQ(leaky.steps[4].within, 5s);
  EXPECT_EQ(leaky.max_attempts, 2);
  EXPECT_EQ(leaky.on_failure->name, "safe_hold");
}

TEST(Loader, EveryProbeKindParses) {
  auto r = load(R"(grace: 1
supervisor:
  children:
    - name: app
      command: [app]
      probes:
        - {kind: heartbeat, within: 2s}
        - {kind: tcp, port: 80, host: localhost}
        - {kind: http, name: health, url: "http://[::1]:8080/h?x=1", expect: "200..204"}
        - {kind: exec, command: [./check.sh], every: 5s, initial_delay: 30s}
        - {kind: resource, max_rss: 512MiB, max_cpu: 150, max_fds: 1000, for: 30s}
        - {kind: log, stream: stderr, pattern: "FATAL|panic", count: 3, window: 1m}
        - {kind: log, name: audit, file: app.log, pattern: "denied"}
        - {kind: kpi, http: "http://127.0.0.1/stats", json_pointer: /queue/depth, above: 1000, for: 1m}
        - {kind: kpi, name: lag, exec: [./lag.sh], below: 0.5}
        - {kind: anomaly, of: health, z: 3, min_samples: 50}
        - {kind: file, path: /var/run/app.version, monotonic: true, max_age: 1h}
)");
  auto& cfg = ok(r);
  auto& probes = child_at(cfg.root, 0).probes;
  ASSERT_EQ(probes.size(), 11u);
  EXPECT_EQ(std::get<tcp_probe>(probes[1].check).host, "localhost");
  auto& http = std::get<http_probe>(probes[2].check);
  EXPECT_EQ(http.host, "::1");
  EXPECT_EQ(http.port, 8080);
  EXPECT_EQ(http.target, "/h?x=1");
  EXPECT_EQ(http.expect_max, 204);
  EXPECT_EQ(std::get<exec_probe>(probes[3].check).argv,
            std::vector<std::string>{"/etc/grace/check.sh"});
  EXPECT_EQ(probes[3].every, 5s);
  EXPECT_EQ(probes[3].initial_delay, 30s);
  EXPECT_FALSE(probes[1].initial_delay) << "unset: one `every` after ready";
  auto& res = std::get<resource_probe>(probes[4].check);
  EXPECT_EQ(res.max_rss, 512ull << 20);
  EXPECT_EQ(res.max_cpu, 150.0);
  EXPECT_EQ(res.sustained, 30s);
  auto& log = std::get<log_probe>(probes[5].check);
  EXPECT_EQ(log.from, log_probe::source::err);
  EXPECT_EQ(log.count, 3);
  EXPECT_EQ(log.window, 1min);
  EXPECT_EQ(std::get<log_probe>(probes[6].check).file, "/etc/grace/app.log");
  auto& kpi = std::get<kpi_probe>(probes[7].check);
  EXPECT_EQ(kpi.json_pointer, "/queue/depth");
  EXPECT_EQ(kpi.above, 1000.0);
  EXPECT_EQ(std::get<kpi_probe>(probes[8].check).below, 0.5);
  EXPECT_EQ(std::get<anomaly_probe>(probes[9].check).of.name, "health");
  EXPECT_EQ(std::get<file_probe>(probes[10].check).max_age, 1h);
}

TEST(Loader, PoolsStandForTheirReplicasInDependsOn) {
  auto r = load(R"(grace: 1
supervisor:
  children:
    - {name: w, command: [w], replicas: 3}
    - {name: lb, command: [lb], depends_on: [root/w]}
)");
  auto& cfg = ok(r);
  auto& lb = child_at(cfg.root, 3);
  ASSERT_EQ(lb.depends_on.size(), 3u);
  EXPECT_EQ(lb.depends_on[0].name, "root/w-0");
  EXPECT_EQ(lb.depends_on[2].name, "root/w-2");
}

TEST(Loader, ARestartBudgetHasAPeriodOfAMinuteByDefault) {
  auto r = load(R"(grace: 1
restart_budget: {restarts: 300}
supervisor:
  children:
    - {name: a, command: [a]}
)");
  auto& cfg = ok(r);
  ASSERT_TRUE(cfg.restart_budget);
  EXPECT_EQ(cfg.restart_budget->restarts, 300);
  EXPECT_EQ(cfg.restart_budget->period, 1min);
  auto r2 = load(R"(grace: 1
restart_budget: {restarts: 5, period: 10s}
supervisor:
  children:
    - {name: a, command: [a]}
)");
  auto& other = ok(r2);
  EXPECT_EQ(other.restart_budget->period, 10s);
}

TEST(Loader, ShellIsTheExplicitOptIn) {
  auto r = load(R"(grace: 1
supervisor:
  children:
    - {name: s, shell: "yes | head -n 1"}
)");
  auto& cfg = ok(r);
  auto& s = child_at(cfg.root, 0);
  EXPECT_TRUE(s.shell);
  EXPECT_EQ(s.argv,
            (std::vector<std::string>{"/bin/sh", "-c", "yes | head -n 1"}));
}

TEST(Loader, AnchorsAliasesAndMergeKeysWork) {
  auto r = load(R"(grace: 1
supervisor:
  children:
    - &base {name: a, command: [app], env: {MODE: fast}, restart: transient}
    - <<: *base
      name: b
)");
  auto& cfg = ok(r);
  auto& b = child_at(cfg.root, 1);
  EXPECT_EQ(b.name, "b");
  EXPECT_EQ(b.restart, restart_type::transient);
  EXPECT_EQ(b.env.at(0).second, "fast");
}

TEST(Loader, UserPlaybookStepsAndChains) {
  auto r = load(R"(grace: 1
supervisor:
  children:
    - {name: a, command: [app], on: {check_failed: gentle}}
playbooks:
  gentle:
    steps:
      - {exec: [./drain.sh], timeout: 5s}
      - {notify: "http://127.0.0.1:9000/hook"}
      - {notify: {command: [./page.sh]}}
      - stop
      - start
      - free_port
      - verify
    on_failure: hard
  hard:
    steps: [restart]
    on_failure: escalate
)");
  auto& cfg = ok(r);
  auto& gentle = cfg.playbooks.at("gentle");
  ASSERT_EQ(gentle.steps.size(), 7u);
  EXPECT_EQ(gentle.steps[0].timeout, 5s);
  EXPECT_EQ(gentle.steps[0].argv,
            std::vector<std::string>{"/etc/grace/drain.sh"});
  EXPECT_EQ(gentle.steps[1].url, "http://127.0.0.1:9000/hook");
  EXPECT_EQ(gentle.steps[2].argv,
            std::vector<std::string>{"/etc/grace/page.sh"});
  EXPECT_EQ(gentle.steps[6].within, 10s);
  EXPECT_EQ(gentle.on_failure->name, "hard");
}

TEST(Loader, DefaultSeveritiesFollowTheSpec) {
  using fm = failure_mode;
  EXPECT_EQ(defaults::severity_of(fm::restart_intensity_exceeded),
            severity::critical);
  EXPECT_EQ(defaults::severity_of(fm::crashed), severity::high);
  EXPECT_EQ(defaults::severity_of(fm::ready_timeout), severity::high);
  EXPECT_EQ(defaults::severity_of(fm::api_timeout), severity::medium);
  EXPECT_EQ(defaults::severity_of(fm::rate_limited), severity::low);
  EXPECT_EQ(defaults::severity_of(fm::event_anomaly), severity::low);
}

TEST(Loader, TenThousandChildrenLoad) {
  std::string yaml = "grace: 1\nsupervisor:\n  children:\n";
  for (int i = 0; i < 10'000; ++i)
    yaml += "    - {name: c" + std::to_string(i) + ", command: [app]}\n";
  auto r = load(yaml);
  auto& cfg = ok(r);
  EXPECT_EQ(count_children(cfg.root), 10'000u);
}
