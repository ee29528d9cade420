#include "actors/node.hpp"

#include <csignal>
#include <cstdlib>
#include <functional>
#include <future>
#include <optional>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "actors/cluster_node.hpp"
#include "actors/control.hpp"
#include "actors/coordinator.hpp"
#include "actors/messages.hpp"
#include "actors/node_context.hpp"
#include "actors/supervisor.hpp"
#include "actors/system.hpp"
#include "actors/tracker.hpp"
#include "config/cluster.hpp"
#include "config/diff.hpp"
#include "config/loader.hpp"
#include "config/support.hpp"
#include "runtime/audit_log.hpp"
#include "runtime/cgroup.hpp"
#include "runtime/control_server.hpp"
#include "runtime/guardian.hpp"
#include "runtime/incident.hpp"
#include "runtime/io_loop.hpp"
#include "runtime/signals.hpp"

namespace grace::actors {

namespace {

// How long the tree has for its answer to `grace status` (the control
// server waits 10 s, and a cluster's other nodes up to 5 s more), and to
// another node's question (which waits 3 s, cluster_operations.cpp).
constexpr std::chrono::milliseconds status_budget{3000};
constexpr std::chrono::milliseconds peer_status_budget{1500};

// The tracker's latest failure of each component, into its row.
void with_last_failures(status_list& tree, const status_list& failures) {
  std::unordered_map<std::string, const component_status*> by_path;
  for (auto& f : failures)
    by_path.emplace(f.path, &f);
  for (auto& c : tree)
    if (auto it = by_path.find(c.path); it != by_path.end()) {
      c.last_failure = it->second->last_failure;
      c.failed_ns = it->second->failed_ns;
    }
}

struct node_state {
  static inline const char* name = "grace.node";
  std::shared_ptr<const config::supervisor_spec> root_spec;
  std::shared_ptr<const config::grace_config> config; // as last applied
  std::string config_file;
  node_context_ptr ctx;
  std::promise<int>* done = nullptr;
  std::optional<std::chrono::nanoseconds> run_for;
  caf::actor root;
  caf::actor cluster; // none on a single node
  int stop_code = 0;  // what grace exits with once the tree has stopped
  bool stopping = false;
  bool finished = false;
};

class node_actor : public caf::stateful_actor<node_state> {
public:
  node_actor(caf::actor_config& cfg,
             std::shared_ptr<const config::supervisor_spec> root,
             node_context_ptr ctx, std::promise<int>* result,
             std::optional<std::chrono::nanoseconds> run_for,
             std::shared_ptr<const config::grace_config> config,
             std::string config_file, caf::actor cluster)
      : caf::stateful_actor<node_state>(cfg) {
    state.cluster = std::move(cluster);
    state.config = std::move(config);
    state.config_file = std::move(config_file);
    state.root_spec = std::move(root);
    state.ctx = std::move(ctx);
    state.done = result;
    state.run_for = run_for;
  }

  caf::behavior make_behavior() override {
    log_stray_messages(this);
    set_exit_handler([this](caf::exit_msg& em) {
      if (state.root)
        send_exit(state.root, em.reason);
      quit(em.reason);
    });
    set_down_handler([this](caf::down_msg& dm) {
      spdlog::critical("root supervisor died: {}", to_string(dm.reason));
      finish(1);
    });
    state.root = spawn_supervisor(this, state.root_spec, state.ctx);
    send(state.root, start_atom::value);
    if (state.run_for)
      delayed_send(this, *state.run_for, stop_atom::value);
    if (state.cluster)
      send(state.cluster, register_atom::value,
           caf::actor_cast<caf::actor>(this));
    return {
      [this](stop_atom) { stop_tree(0); },
      // The cluster refused this node: stop, then exit with `code`.
      [this](stop_atom, int code) { stop_tree(code); },
      [this](reload_atom) -> caf::result<std::string> { return reload(); },
      // The operator's requests (control.hpp) go to the root supervisor;
      // in a cluster, the cluster actor adds what the other nodes run.
      [this](status_atom) -> caf::result<status_list, node_list> {
        auto rp = make_response_promise<status_list, node_list>();
        local_status(
          status_budget,
          [this, rp](status_list local) mutable {
            if (!state.cluster) {
              rp.deliver(std::move(local), node_list{});
              return;
            }
            request(state.cluster, std::chrono::seconds{5}, status_atom::value,
                    local)
              .then(
                [rp](status_list& all, node_list& nodes) mutable {
                  rp.deliver(std::move(all), std::move(nodes));
                },
                [rp, local](caf::error&) mutable {
                  rp.deliver(std::move(local), node_list{});
                });
          },
          [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
        return rp;
      },
      // This node's tree alone (another node of the cluster asks).
      [this](status_atom, local_atom) -> caf::result<status_list> {
        auto rp = make_response_promise<status_list>();
        local_status(
          peer_status_budget,
          [rp](status_list local) mutable { rp.deliver(std::move(local)); },
          [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
        return rp;
      },
      // In a cluster, wherever `who` runs: the cluster actor passes it on
      // to the node that runs it, or answers false (here).
      [this](op_atom, const std::string& verb,
             const std::string& who) -> caf::result<bool> {
        auto rp = make_response_promise<bool>();
        if (!state.cluster) {
          local_op(verb, who, rp);
          return rp;
        }
        request(state.cluster, std::chrono::minutes{6}, op_atom::value, verb,
                who)
          .then(
            [this, rp, verb, who](bool elsewhere) mutable {
              if (elsewhere)
                rp.deliver(true);
              else
                local_op(verb, who, rp);
            },
            [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
        return rp;
      },
      // On this node's tree (the cluster actor asks).
      [this](op_atom, const std::string& verb, const std::string& who,
             local_atom) -> caf::result<bool> {
        auto rp = make_response_promise<bool>();
        local_op(verb, who, rp);
        return rp;
      },
      [this](const child_report& r) {
        switch (r.kind) {
          case report_kind::ready:
            spdlog::info("supervision tree is up");
            return;
          case report_kind::exited:
            spdlog::error("root supervisor gave up: {}", r.what.detail);
            root_gave_up(r);
            finish(3);
            return;
          case report_kind::stopped:
            spdlog::info("tree stopped");
            finish(state.stop_code);
            return;
          case report_kind::held:
            spdlog::error("root supervisor holds the tree stopped; grace "
                          "keeps running until stopped");
            return;
          default:
            return;
        }
      },
    };
  }

private:
  void local_op(const std::string& verb, const std::string& who,
                caf::typed_response_promise<bool> rp) {
    request(state.root, std::chrono::minutes{5}, op_atom::value, verb, who)
      .then([rp](bool ok) mutable { rp.deliver(ok); },
            [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
  }

  void stop_tree(int code) {
    if (state.stopping)
      return;
    state.stopping = true;
    state.stop_code = code;
    spdlog::info("stopping the tree");
    if (state.cluster)
      send(state.cluster, stop_atom::value); // no more starts
    send(state.root, stop_atom::value);
  }

  // The tree's status, with each component's latest failure as the
  // tracker, the one record of failures, has it (a probe's included). The
  // root answers by `budget` with what has come in (rows marked late for
  // the rest); the tracker is asked at the same time.
  void local_status(std::chrono::milliseconds budget,
                    std::function<void(status_list)> then,
                    std::function<void(caf::error&)> failed) {
    struct gather {
      std::optional<status_list> tree;
      std::optional<status_list> failures;
      std::optional<caf::error> error;
      int pending = 0; // the root's answer, and the tracker's if there is one
      std::function<void(status_list)> then;
      std::function<void(caf::error&)> failed;
      void one_done() {
        if (--pending > 0)
          return;
        if (!tree)
          return failed(*error);
        if (failures)
          with_last_failures(*tree, *failures);
        then(std::move(*tree));
      }
    };
    auto g = std::make_shared<gather>();
    g->pending = state.ctx->tracker ? 2 : 1;
    g->then = std::move(then);
    g->failed = std::move(failed);
    // Half a second more than the root's own budget for its answer.
    auto wait = budget + std::chrono::milliseconds{500};
    request(state.root, wait, status_atom::value,
            static_cast<std::int64_t>(budget.count()))
      .then(
        [g](status_list& tree) {
          g->tree = std::move(tree);
          g->one_done();
        },
        [g](caf::error& e) {
          g->error = std::move(e);
          g->one_done();
        });
    if (!state.ctx->tracker)
      return;
    request(state.ctx->tracker, wait, status_atom::value)
      .then(
        [g](status_list& failures) {
          g->failures = std::move(failures);
          g->one_done();
        },
        [g](caf::error&) { g->one_done(); }); // without them, not without all
  }

  // `grace reload`, SIGHUP: reads the config file again; if it is valid,
  // applies the difference (the supervisors keep what did not change) and
  // answers what changed, as JSON; if not, changes nothing and answers the
  // errors.
  caf::result<std::string> reload() {
    using json = nlohmann::json;
    auto dump = [](const json& j) {
      return j.dump(-1, ' ', false, json::error_handler_t::replace);
    };
    auto refuse = [&](json errors) {
      for (auto& e : errors)
        spdlog::error("reload: {}", e.get<std::string>());
      return dump(json{{"ok", false}, {"invalid", true}, {"errors", errors}});
    };
    auto r = config::load_file(state.config_file);
    json errors = json::array();
    if (!r.config) {
      for (auto& e : r.errors)
        errors.push_back(to_string(e));
      return refuse(errors);
    }
    auto& cgroups = state.ctx->containment;
    for (auto& e : config::unsupported_for_run(
           *r.config, cgroups ? cgroups->no_memory()
                              : "grace keeps to process groups (no cgroups)"))
      errors.push_back(to_string(e));
    auto& next = *r.config;
    auto& now = *state.config;
    auto needs_restart = [&](const std::string& what) {
      errors.push_back(state.config_file + ": " + what
                       + " changed: that needs a restart of grace");
    };
    if (next.log_dir != now.log_dir)
      needs_restart("log_dir");
    if (next.fsync != now.fsync)
      needs_restart("audit");
    if (next.metrics.has_value() != now.metrics.has_value()
        || (next.metrics
            && (next.metrics->host != now.metrics->host
                || next.metrics->port != now.metrics->port)))
      needs_restart("metrics");
    if (next.restart_budget.has_value() != now.restart_budget.has_value()
        || (next.restart_budget
            && (next.restart_budget->restarts != now.restart_budget->restarts
                || next.restart_budget->period != now.restart_budget->period)))
      needs_restart("restart_budget");
    if (dependencies(next.root) != dependencies(now.root))
      needs_restart("depends_on");
    if (next.cluster || now.cluster)
      errors.push_back(state.config_file
                       + ": a node of a cluster does not reload: every node "
                         "must run the same file (its digest is compared)");
    if (!errors.empty())
      return refuse(errors);
    auto d = config::diff_trees(now.root, next.root);
    json answer{{"ok", true},
                {"added", d.added},
                {"removed", d.removed},
                {"changed", d.changed},
                {"retuned", d.retuned}};
    auto cfg = std::make_shared<const config::grace_config>(std::move(next));
    std::shared_ptr<const config::supervisor_spec> root{cfg, &cfg->root};
    state.config = cfg;
    state.root_spec = root;
    if (d.empty()) {
      spdlog::info("reload: nothing changed");
      return dump(answer);
    }
    spdlog::info("reload: {} added, {} removed, {} changed, {} retuned",
                 d.added.size(), d.removed.size(), d.changed.size(),
                 d.retuned.size());
    // The coordinator's playbooks and `on:` maps, the tracker's severities.
    if (state.ctx->coordinator)
      send(state.ctx->coordinator, reload_atom::value, config_update{cfg});
    if (state.ctx->tracker)
      send(state.ctx->tracker, reload_atom::value, spec_update{root});
    auto rp = make_response_promise<std::string>();
    request(state.root, std::chrono::minutes{5}, reload_atom::value,
            spec_update{root})
      .then([rp, text = dump(answer)](bool) mutable { rp.deliver(text); },
            [rp, dump](caf::error& err) mutable {
              json refused{{"ok", false}, {"error", error_text(err)}};
              if (auto code = grace_code(err))
                refused["code"] = code_name(*code);
              rp.deliver(dump(refused));
            });
    return rp;
  }

  // Every component's dependencies, for telling whether they changed.
  static std::map<std::string, std::vector<std::string>>
  dependencies(const config::supervisor_spec& root) {
    std::map<std::string, std::vector<std::string>> out;
    std::function<void(const config::supervisor_spec&)> walk
      = [&](const config::supervisor_spec& s) {
          for (auto& d : s.depends_on)
            out[s.path].push_back(d.name);
          for (auto& c : s.children) {
            if (auto* child = std::get_if<config::child_spec>(&c.node)) {
              for (auto& d : child->depends_on)
                out[child->path].push_back(d.name);
            } else {
              walk(std::get<config::supervisor_spec>(c.node));
            }
          }
        };
    walk(root);
    return out;
  }

  // Nobody above the root heals it: its incident opens and fails at once.
  void root_gave_up(const child_report& r) {
    auto& tracker = state.ctx->tracker;
    auto& time = *state.ctx->time;
    send_note(this, tracker, time, failed_note(r.path, r.what, r.at_ns));
    send_note(this, tracker, time,
              closed_note(r.path, runtime::incident_status::failed,
                          "the root supervisor gave up: grace stops (exit 3)"));
  }

  // Incidents still open are closed (abandoned) before grace reports its
  // end: the tracker answers once their lines are queued.
  void finish(int code) {
    if (state.finished)
      return;
    state.finished = true;
    auto& tracker = state.ctx->tracker;
    if (!tracker) {
      state.done->set_value(code);
      return;
    }
    request(tracker, std::chrono::seconds{5}, stop_atom::value)
      .then([this, code](bool) { state.done->set_value(code); },
            [this, code](caf::error& err) {
              spdlog::error("the tracker did not close open incidents: {}",
                            to_string(err));
              state.done->set_value(code);
            });
  }
};

// Kills what an earlier grace on this log_dir left in its cgroups (it was
// killed, and its guardian too) and records it: one incident per component,
// resolved once its cgroup is empty.
void clean_leftovers(runtime::containment& cg, runtime::audit_log* audit) {
  runtime::incident_ids ids;
  for (auto& [path, pids] : cg.leftovers()) {
    std::string list;
    for (auto pid : pids)
      list += (list.empty() ? "" : " ") + std::to_string(pid);
    spdlog::warn("{}: {} process(es) left by an earlier grace in its cgroup "
                 "(pids {}): killing them",
                 path, pids.size(), list);
    auto started = std::chrono::steady_clock::now();
    runtime::incident x;
    x.detected_us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    x.id = ids.next(x.detected_us);
    x.component = path;
    x.failure_mode = "orphaned";
    x.severity = "medium";
    x.detail = {{"cgroup", cg.component_dir(path)},
                {"pids", list},
                {"processes", static_cast<std::int64_t>(pids.size())}};
    if (audit)
      audit->append(runtime::to_json_line(x));
    auto gone = runtime::cgroup_kill_and_wait(cg.component_dir(path),
                                              std::chrono::seconds{5});
    auto took = std::chrono::duration<double>(std::chrono::steady_clock::now()
                                              - started)
                  .count();
    x.closed_us = x.detected_us + static_cast<std::int64_t>(took * 1e6);
    x.status = gone ? runtime::incident_status::resolved
                    : runtime::incident_status::failed;
    if (gone)
      x.mttr_seconds = took;
    x.actions.push_back(
      {"orphans_cleaned",
       gone,
       *x.closed_us,
       {{"pids", list},
        {"processes", static_cast<std::int64_t>(pids.size())}}});
    if (audit)
      audit->append(runtime::to_json_line(x));
    if (gone)
      spdlog::info("{}: leftovers killed", path);
    else
      spdlog::error("{}: processes left by an earlier grace outlived "
                    "cgroup.kill for 5 s",
                    path);
  }
}

} // namespace

int run_tree(const config::grace_config& cfg, const run_options& opts,
             std::shared_ptr<run_report>* report) {
  if (!runtime::become_subreaper())
    spdlog::warn("cannot become a child subreaper: orphaned grandchildren "
                 "will be reaped by init");
  // The audit log outlives every actor: its destructor writes what is
  // still queued. GRACE_BENCH_NO_AUDIT=1 runs without it (and without the
  // tracker), only so that benchmarks can measure what they cost.
  std::optional<runtime::audit_log> audit;
  if (!std::getenv("GRACE_BENCH_NO_AUDIT"))
    audit.emplace(
      runtime::audit_log::options{cfg.log_dir + "/incidents.jsonl",
                                  cfg.fsync == config::fsync_policy::always
                                    ? runtime::audit_log::sync::always
                                    : runtime::audit_log::sync::never});
  else
    spdlog::warn("GRACE_BENCH_NO_AUDIT is set: no incidents are recorded");
  system_options sys_opts;
  if (cfg.cluster) {
    sys_opts.middleman = true;
    if (auto& tls = cfg.cluster->tls) {
      if (auto why = tls_problem(*tls); !why.empty()) {
        spdlog::error("cluster.tls: {}", why);
        return 2;
      }
      sys_opts.tls_cert = tls->cert;
      sys_opts.tls_key = tls->key;
      sys_opts.tls_ca = tls->ca;
    }
  }
  auto sys_cfg = make_config(sys_opts);
  caf::actor_system sys{*sys_cfg};
  int code = 1;
  {
    runtime::io_loop io;
    auto ctx = std::make_shared<node_context>();
    ctx->io = &io;
    auto root = std::make_shared<const config::supervisor_spec>(cfg.root);
    // The control actor first: it hears of everything for `grace events`.
    auto control = spawn_control(sys, root->path);
    ctx->events = control;
    if (cfg.metrics) {
      std::string why;
      ctx->metrics = runtime::metrics::open(
        cfg.metrics->host, cfg.metrics->port, &why,
        cfg.cluster ? cfg.cluster->node : std::string{});
      if (!ctx->metrics)
        spdlog::error("{}: going on without them", why);
      else
        spdlog::info("metrics on http://{}:{}/metrics", cfg.metrics->host,
                     cfg.metrics->port);
    }
    auto table = std::make_shared<run_report>();
    if (report)
      *report = table;
    auto node_name = cfg.cluster ? cfg.cluster->node : std::string{};
    if (audit)
      ctx->tracker
        = spawn_tracker(sys, {&*audit, cfg.log_dir, root, control, ctx->metrics,
                              table, ctx->time, node_name});
    coordinator_options heal;
    heal.tracker = ctx->tracker;
    heal.time = ctx->time;
    heal.config = std::make_shared<const config::grace_config>(cfg);
    heal.io = &io;
    heal.topology = std::make_shared<const config::topology>(cfg.root);
    ctx->topology = heal.topology;
    for (auto& [who, deps] : config::layout_of(cfg).gated)
      ctx->gated.insert(who);
    if (cfg.restart_budget)
      ctx->budget = std::make_shared<restart_budget>(
        cfg.restart_budget->restarts, cfg.restart_budget->period);
    ctx->coordinator = spawn_coordinator(sys, heal);
    ctx->log_dir = cfg.log_dir;
    ctx->default_backoff = cfg.default_backoff;
    // The control socket before the tree: a second grace on the same
    // log_dir stops here, before it starts anything.
    failure why;
    auto server = runtime::control_server::open(
      io, cfg.log_dir + "/grace.sock",
      [control](std::string line, runtime::control_server::reply_fn reply) {
        // Asked from the I/O thread, answered from the control actor.
        send_control_request(control, std::move(line), std::move(reply));
      },
      &why);
    auto give_up_early = [&](caf::actor cluster) {
      for (auto& a : {control, ctx->tracker, ctx->coordinator, cluster})
        if (a)
          caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
      ctx.reset();
      sys.await_all_actors_done();
      return 1;
    };
    if (!server) {
      spdlog::error("control socket {}", why.message);
      if (why.code == grace_errc::another_instance)
        return give_up_early(nullptr);
    }
    // A node of a cluster listens on its port before it starts anything.
    caf::actor cluster;
    if (cfg.cluster) {
      cluster
        = spawn_cluster(sys, {std::make_shared<const config::grace_config>(cfg),
                              ctx->tracker, ctx->coordinator, ctx->time});
      if (auto err = publish_cluster(sys, cluster, *cfg.cluster);
          !err.empty()) {
        spdlog::error("cluster: {}", err);
        return give_up_early(cluster);
      }
      spdlog::info("cluster: node {} of {} listening; config digest {}",
                   cfg.cluster->node, cfg.cluster->nodes.size(), cfg.digest);
    }
    // Only now, as the one grace on this log_dir: what an earlier one left
    // goes, and grace's own death will be acted on.
    if (opts.containment) {
      clean_leftovers(*opts.containment, audit ? &*audit : nullptr);
      // Made afresh: a cgroup once killed may not be reused on some kernels
      // (process.cpp).
      opts.containment->remove_empty();
      ctx->containment = opts.containment;
      spdlog::info("containment: a cgroup per component under {}",
                   opts.containment->dir());
    } else {
      spdlog::warn("containment: {}; keeping to process groups (a process "
                   "that leaves its group, setsid, outlives its component)",
                   opts.no_containment);
    }
    runtime::arm_guardian();
    if (runtime::guardian_pid() > 0)
      spdlog::info("guardian: pid {} acts if grace is killed",
                   runtime::guardian_pid());
    std::promise<int> done;
    auto finished = done.get_future();
    auto node
      = sys.spawn<node_actor>(root, ctx, &done, opts.run_for,
                              std::make_shared<const config::grace_config>(cfg),
                              opts.config_file, cluster);
    caf::anon_send(control, node);
    runtime::signal_watcher signals{
      io, [node](int sig) {
        if (sig == SIGHUP) {
          spdlog::info("SIGHUP: reloading the config");
          caf::anon_send(node, reload_atom::value);
          return;
        }
        spdlog::info("received {}", sig == SIGINT ? "SIGINT" : "SIGTERM");
        caf::anon_send(node, stop_atom::value);
      }};
    code = finished.get();
    {
      // An answer the node gave as it ended (a reload the root's giving
      // up cut short) reaches the socket before it closes.
      caf::scoped_actor self{sys};
      self->request(control, std::chrono::seconds{2}, done_atom::value)
        .receive([](bool) {}, [](caf::error&) {});
    }
    server.reset(); // no more requests
    caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
    for (auto& a : {ctx->tracker, ctx->coordinator, control, cluster})
      if (a)
        caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    cluster = nullptr;
    ctx.reset(); // its handles must not keep actors alive
    sys.await_all_actors_done();
  } // the I/O thread ends here, before the actor system
  // Stopped cleanly: nothing for the guardian to do, no cgroup to keep.
  runtime::disarm_guardian();
  if (opts.containment)
    opts.containment->remove_empty();
  return code;
}

} // namespace grace::actors
