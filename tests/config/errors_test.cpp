// Every error class of the loader, with its exact message and position.
#include <gtest/gtest.h>

#include "tests/config/config_test_util.hpp"

using grace::test::errors_of;
using strings = std::vector<std::string>;

TEST(ConfigErrors, EmptyFile) {
  EXPECT_EQ(errors_of(""),
            strings{"t.yaml:1:1: error: empty config (expected a mapping with "
                    "'grace: 1' and 'supervisor:')"});
  EXPECT_EQ(errors_of("# only a comment\n"),
            strings{"t.yaml:1:1: error: empty config (expected a mapping with "
                    "'grace: 1' and 'supervisor:')"});
}

TEST(ConfigErrors, TopLevelNotAMapping) {
  EXPECT_EQ(errors_of("- a\n- b\n"),
            strings{"t.yaml:1:1: error: expected a mapping, got a list"});
}

TEST(ConfigErrors, MissingRequiredKeys) {
  EXPECT_EQ(errors_of("log_dir: x\n"),
            (strings{"t.yaml:1:1: error: missing required key 'grace'",
                     "t.yaml:1:1: error: missing required key 'supervisor'"}));
}

TEST(ConfigErrors, UnsupportedVersion) {
  EXPECT_EQ(errors_of("grace: 2\nsupervisor: {children: []}\n"),
            strings{"t.yaml:1:8: error: grace: unsupported schema version 2 "
                    "(this grace reads 1)"});
}

TEST(ConfigErrors, UnknownKeysWithSuggestions) {
  EXPECT_EQ(errors_of(R"(grace: 1
supervisor:
  stratgey: one_for_one
  colour: red
  children:
    - name: a
      comand: [x]
)"),
            (strings{"t.yaml:3:3: error: unknown key 'stratgey' (did you mean "
                     "'strategy'?)",
                     "t.yaml:4:3: error: unknown key 'colour'",
                     "t.yaml:6:7: error: missing required key 'command'",
                     "t.yaml:7:7: error: unknown key 'comand' (did you mean "
                     "'command'?)"}));
}

TEST(ConfigErrors, WrongTypesCarryLineAndColumn) {
  EXPECT_EQ(
    errors_of(R"(grace: 1
supervisor:
  intensity: lots
  period: 10
  strategy: [one_for_one]
  children:
    - name: a
      command: ./a
      ports: [http]
      replicas: "2"
)"),
    (strings{"t.yaml:3:14: error: intensity: expected an integer, got 'lots'",
             "t.yaml:4:11: error: period: duration '10' has no unit "
             "(expected a number and a unit: us, ms, s, m, h (e.g. 150ms, "
             "5s))",
             "t.yaml:5:13: error: strategy: expected one of: one_for_one, "
             "one_for_all, rest_for_one, got a list",
             "t.yaml:8:16: error: command: expected a list (argv, e.g. "
             "[./bin/app, --port, \"80\"]); for a shell command line use "
             "'shell:'",
             "t.yaml:9:15: error: ports[0]: expected an integer, got 'http'",
             "t.yaml:10:17: error: replicas: expected an integer, got '2'"}));
}

TEST(ConfigErrors, OutOfRangeValues) {
  EXPECT_EQ(
    errors_of(R"(grace: 1
supervisor:
  intensity: -1
  children:
    - name: a
      command: [a]
      ports: [0, 70000]
      replicas: 0
      backoff: {min: 5s, max: 1s, jitter: 2}
)"),
    (strings{"t.yaml:3:14: error: intensity: must be between 0 and 1000000 "
             "(got -1)",
             "t.yaml:7:15: error: ports[0]: must be between 1 and 65535 (got "
             "0)",
             "t.yaml:7:18: error: ports[1]: must be between 1 and 65535 (got "
             "70000)",
             "t.yaml:8:17: error: replicas: must be between 1 and 10000 (got "
             "0)",
             "t.yaml:9:16: error: backoff: min (5s) is greater than max (1s)",
             "t.yaml:9:43: error: backoff.jitter: must be between 0 and 1 "
             "(got 2)"}));
}

TEST(ConfigErrors, UnknownEnumValues) {
  EXPECT_EQ(errors_of(R"(grace: 1
supervisor:
  strategy: one_for_al
  on_exhausted: panic
  children:
    - {name: a, command: [a], restart: sometimes}
)"),
            (strings{"t.yaml:3:13: error: strategy: unknown value 'one_for_al' "
                     "(did you mean 'one_for_all'?)",
                     "t.yaml:4:17: error: on_exhausted: unknown value 'panic' "
                     "(expected one of: escalate, hold)",
                     "t.yaml:6:40: error: restart: unknown value 'sometimes' "
                     "(expected one of: permanent, transient, temporary)"}));
}

TEST(ConfigErrors, BadNamesAndDuplicateSiblings) {
  EXPECT_EQ(errors_of(R"(grace: 1
supervisor:
  children:
    - {name: Web, command: [a]}
    - {name: db, command: [a]}
    - {name: db, command: [b]}
    - {name: w, command: [w], replicas: 2}
    - {name: w-1, command: [w]}
)"),
            (strings{"t.yaml:4:14: error: name: invalid name 'Web' (must start "
                     "with a lower-case letter or a digit)",
                     "t.yaml:6:7: error: duplicate name 'db' among the "
                     "children of 'root' (first at line 5)",
                     "t.yaml:8:7: error: duplicate name 'w-1' among the "
                     "children of 'root' (first at line 7)"}));
}

TEST(ConfigErrors, DuplicateKeys) {
  EXPECT_EQ(
    errors_of(R"(grace: 1
supervisor:
  children:
    - name: a
      command: [a]
      name: b
)"),
    strings{"t.yaml:6:7: error: duplicate key 'name' (first at line 4)"});
}

TEST(ConfigErrors, CommandAndShellConflict) {
  EXPECT_EQ(errors_of(R"(grace: 1
supervisor:
  children:
    - {name: a, command: [a], shell: "a | b"}
    - {name: b, command: []}
)"),
            (strings{"t.yaml:4:31: error: use either 'command' or 'shell', not "
                     "both",
                     "t.yaml:5:26: error: command: must not be empty"}));
}

TEST(ConfigErrors, UnknownUser) {
  EXPECT_EQ(errors_of(R"(grace: 1
supervisor:
  children:
    - {name: a, command: [a], user: no-such-user-here}
    - {name: b, command: [a], user: nobody}
    - {name: c, command: [a], user: "4242"}
)"),
            strings{"t.yaml:4:37: error: user: unknown user "
                    "'no-such-user-here' (not in this machine's user "
                    "database)"});
}

TEST(ConfigErrors, StopSignal) {
  EXPECT_EQ(errors_of(R"(grace: 1
supervisor:
  children:
    - {name: a, command: [a], stop_signal: SIGTREM}
    - {name: b, command: [a], stop_signal: [SIGINT]}
)"),
            (strings{"t.yaml:4:44: error: stop_signal: unknown signal "
                     "'SIGTREM' (did you mean 'SIGTERM'?)",
                     "t.yaml:5:44: error: stop_signal: expected a signal name "
                     "like SIGUSR1, got a list"}));
}

TEST(ConfigErrors, ProbeInitialDelay) {
  EXPECT_EQ(errors_of(R"(grace: 1
supervisor:
  children:
    - name: a
      command: [a]
      probes:
        - {name: x, kind: tcp, port: 80, initial_delay: soon}
        - {name: y, kind: tcp, port: 81, initial_delay: [1s]}
        - {name: z, kind: tcp, port: 82, initial_dely: 1s}
)"),
            (strings{"t.yaml:7:57: error: tcp probe.initial_delay: invalid "
                     "duration 'soon' (expected a number and a unit: us, ms, "
                     "s, m, h (e.g. 150ms, 5s))",
                     "t.yaml:8:57: error: tcp probe.initial_delay: expected a "
                     "duration, got a list",
                     "t.yaml:9:42: error: tcp probe: unknown key "
                     "'initial_dely' (did you mean 'initial_delay'?)"}));
}

TEST(ConfigErrors, ReadyRules) {
  EXPECT_EQ(errors_of(R"(grace: 1
supervisor:
  children:
    - {name: a, command: [a], ready: {tcp: 80, notify: true}}
    - {name: b, command: [a], ready: {delay: 1s, within: 2s}}
    - {name: c, command: [a], ready: {notify: false}}
    - {name: d, command: [a], ready: {}}
)"),
            (strings{"t.yaml:4:48: error: ready: use only one of tcp, notify, "
                     "exec or delay (got tcp, notify)",
                     "t.yaml:5:50: error: ready.within: not used with "
                     "ready.delay (the child is ready once the delay has "
                     "passed)",
                     "t.yaml:6:47: error: ready.notify: must be true (leave "
                     "'ready' out to count a running process as ready)",
                     "t.yaml:7:38: error: ready: expected one of tcp, notify, "
                     "exec or delay"}));
}

TEST(ConfigErrors, DependsOnUnknownSelfAndCycles) {
  EXPECT_EQ(
    errors_of(R"(grace: 1
supervisor:
  children:
    - {name: db, command: [a], depends_on: [root/dbb]}
    - {name: api, command: [a], depends_on: [root/api, db]}
    - {name: x, command: [a], depends_on: [root/y]}
    - {name: y, command: [a], depends_on: [root/x]}
    - supervisor:
        name: s
        children:
          - {name: inner, command: [a], depends_on: [root/s]}
)"),
    (strings{"t.yaml:4:45: error: depends_on: unknown component 'root/dbb' "
             "(did you mean 'root/db'?)",
             "t.yaml:5:46: error: depends_on: 'root/api' cannot depend on "
             "itself",
             "t.yaml:5:56: error: depends_on: unknown component 'db' "
             "(depends_on takes full paths such as 'root/db')",
             "t.yaml:7:44: error: depends_on: dependency cycle: root/x -> "
             "root/y -> root/x",
             "t.yaml:11:54: error: depends_on: dependency cycle: root/s -> "
             "root/s/inner -> root/s"}));
}

TEST(ConfigErrors, ADependencyMustStartBeforeItsDependent) {
  EXPECT_EQ(errors_of(R"(grace: 1
supervisor:
  children:
    - supervisor:
        name: front
        children:
          - {name: api, command: [x], depends_on: [root/back/db]}
    - supervisor:
        name: back
        children:
          - {name: db, command: [x]}
    - supervisor:
        name: s
        depends_on: [root/s/c]
        children:
          - {name: c, command: [x]}
)"),
            (strings{"t.yaml:7:52: error: depends_on: 'root/front/api' depends "
                     "on 'root/back/db', which starts after it (children start "
                     "in list order, each ready before the next): list "
                     "'root/back' before 'root/front'",
                     "t.yaml:14:22: error: depends_on: 'root/s' cannot depend "
                     "on 'root/s/c', which is inside it"}));
}

TEST(ConfigErrors, RestartBudget) {
  EXPECT_EQ(errors_of(R"(grace: 1
restart_budget: {period: 1m, restart: 3}
supervisor:
  children:
    - {name: a, command: [a]}
)"),
            (strings{"t.yaml:2:17: error: restart_budget: missing required "
                     "key 'restarts'",
                     "t.yaml:2:30: error: restart_budget: unknown key "
                     "'restart' (did you mean 'restarts'?)"}));
  EXPECT_EQ(errors_of(R"(grace: 1
restart_budget: {restarts: 0}
supervisor:
  children:
    - {name: a, command: [a]}
)")
              .size(),
            1u);
}

TEST(ConfigErrors, PlaybookReferences) {
  EXPECT_EQ(
    errors_of(R"(grace: 1
supervisor:
  children:
    - name: a
      command: [a]
      on: {crashd: restart, exited: restrat, check_failed: exec, log_pattern: mine}
playbooks:
  mine:
    steps: [snapshot, {signal: SIGFOO}, {wait: soon}, reboot]
    on_failure: other
  restart:
    steps: [restart]
)"),
    (strings{"t.yaml:6:12: error: on: unknown failure mode 'crashd' (did "
             "you mean 'crashed'?)",
             "t.yaml:6:37: error: on.exited: unknown playbook 'restrat' "
             "(did you mean 'restart'?)",
             "t.yaml:6:60: error: on.check_failed: built-in playbook 'exec' "
             "needs parameters; define a playbook with an 'exec' step and "
             "name it here",
             "t.yaml:9:32: error: playbooks.mine.steps[1].signal: unknown "
             "signal 'SIGFOO'",
             "t.yaml:9:48: error: playbooks.mine.steps[2].wait: invalid "
             "duration 'soon' (expected a number and a unit: us, ms, s, m, h "
             "(e.g. 150ms, 5s))",
             "t.yaml:9:55: error: playbooks.mine.steps[3]: unknown step "
             "'reboot'",
             "t.yaml:10:17: error: playbooks.mine.on_failure: unknown "
             "playbook 'other'",
             "t.yaml:11:3: error: playbooks: 'restart' is a built-in "
             "playbook; choose another name"}));
}

TEST(ConfigErrors, PlaybookCycle) {
  EXPECT_EQ(errors_of(R"(grace: 1
supervisor: {children: []}
playbooks:
  a: {steps: [restart], on_failure: b}
  b: {steps: [restart], on_failure: a}
)"),
            strings{"t.yaml:5:37: error: playbooks.b.on_failure: playbooks "
                    "fail over to each other in a cycle: a -> b -> a"});
}

TEST(ConfigErrors, ProbeErrors) {
  EXPECT_EQ(
    errors_of(R"(grace: 1
supervisor:
  children:
    - name: a
      command: [a]
      probes:
        - {kind: tcp}
        - {kind: http, url: "https://x/", port: 1}
        - {kind: htp}
        - {kind: log, pattern: "(unclosed"}
        - {kind: resource}
        - {kind: anomaly, of: nothing}
        - {kind: tcp, port: 2}
)"),
    (strings{"t.yaml:7:11: error: tcp probe: missing required key 'port'",
             "t.yaml:8:29: error: http probe.url: https is not supported yet "
             "(use http://)",
             "t.yaml:8:43: error: http probe: unknown key 'port'",
             "t.yaml:9:18: error: probe.kind: unknown value 'htp' (did you "
             "mean 'http'?)",
             "t.yaml:10:32: error: log probe.pattern: invalid regular "
             "expression: Mismatched '(' and ')' in regular expression",
             "t.yaml:11:11: error: resource probe: needs at least one of "
             "max_rss, max_cpu or max_fds",
             "t.yaml:12:31: error: anomaly probe.of: no probe named 'nothing' "
             "in this component",
             "t.yaml:13:11: error: probes: duplicate probe name 'tcp' (first "
             "at line 7); give each probe a 'name'"}));
}

TEST(ConfigErrors, PortClaimedTwice) {
  EXPECT_EQ(errors_of(R"(grace: 1
supervisor:
  children:
    - {name: a, command: [a], ports: [80]}
    - {name: b, command: [b], ports: [80]}
)"),
            strings{"t.yaml:5:7: error: ports: port 80 is also claimed by "
                    "'root/a'"});
}

TEST(ConfigErrors, RootOnlyKeysAndEnv) {
  EXPECT_EQ(errors_of(R"(grace: 1
supervisor:
  restart: permanent
  children:
    - {name: a, command: [a], env: {GRACE_COMPONENT: x, 1BAD: y, OK: [1]}}
)"),
            (strings{"t.yaml:3:3: error: restart: not allowed on the root "
                     "supervisor (it has no parent)",
                     "t.yaml:5:37: error: env: GRACE_COMPONENT is set by grace",
                     "t.yaml:5:57: error: env: invalid variable name '1BAD' "
                     "(allowed: A-Z, a-z, 0-9 and '_', not starting with a "
                     "digit)",
                     "t.yaml:5:70: error: env.OK: expected a string, got a "
                     "list"}));
}

TEST(ConfigErrors, MetricsAndLimits) {
  EXPECT_EQ(
    errors_of(R"(grace: 1
metrics: localhost
supervisor:
  children:
    - {name: a, command: [a], limits: {nofiles: 10, as: lots}}
    - {name: b, command: [b], limits: {memory: 0}}
)"),
    (strings{"t.yaml:2:10: error: metrics: expected host:port (e.g. "
             "127.0.0.1:9464), got 'localhost'",
             "t.yaml:5:40: error: limits: unknown key 'nofiles' (did "
             "you mean 'nofile'?)",
             "t.yaml:5:57: error: limits.as: invalid size 'lots' "
             "(expected bytes or a number and a unit: B, KiB, MiB, "
             "GiB, TiB (e.g. 512KiB, 64MiB))",
             "t.yaml:6:48: error: limits.memory: must be more than 0"}));
}

TEST(ConfigErrors, EveryProblemIsReportedNotJustTheFirst) {
  auto errors = errors_of(R"(grace: 1
supervisor:
  strategy: nope
  children:
    - {name: a, command: [a], restart: nope}
    - {name: b, command: [b], shutdown: nope}
    - {name: c, command: [c], ready: {tcp: nope}}
)");
  EXPECT_EQ(errors.size(), 4u);
}
