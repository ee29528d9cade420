// The loader: one pass over a parsed document that builds a grace_config
// and reports every problem with its position. Its member functions live
// in the files of their sections: load_tree.cpp (top level, supervisors,
// children), load_cluster.cpp, load_probes.cpp, load_playbooks.cpp,
// load_checks.cpp
// (cross-references and semantic checks); loader.cpp holds the entry
// points. Internal to config/.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "config/load_rules.hpp"
#include "config/yaml_reader.hpp"

namespace grace::config::detail {

class loader {
public:
  loader(walker& w, grace_config& cfg) : w_(w), cfg_(cfg) {}

  void load(std::optional<node_id> root);

private:
  // -- top level ------------------------------------------------------------

  void load_metrics(node_id id);

  std::optional<endpoint> host_port(node_id id, const std::string& label,
                                    std::string_view example);

  // -- the cluster (load_cluster.cpp) ---------------------------------------

  void load_cluster(node_id id);

  void quorum(node_id id, cluster_spec& c);

  std::vector<reference> nodes(node_id id);

  // Every `nodes:` names a node of `cluster:`, and none is inside a subtree
  // that has its own.
  void check_cluster();

  shutdown_spec shutdown(node_id id, const std::string& label,
                         shutdown_spec fallback);

  backoff_spec backoff(node_id id, const std::string& label,
                       backoff_spec result);

  // A list of distinct names (`what`: "component paths", "node names").
  std::vector<reference> names(node_id id, const std::string& label,
                               std::string_view what);

  // -- supervisors ----------------------------------------------------------

  supervisor_spec supervisor(node_id id, const std::string& parent_path,
                             bool is_root);

  void children(node_id id, supervisor_spec& sup);

  // -- children -------------------------------------------------------------

  std::vector<child_spec> child(node_id id, const std::string& parent_path);

  std::vector<std::uint16_t> ports(node_id id);

  ready_spec ready(node_id id);

  std::vector<std::pair<std::string, std::string>> env(node_id id);

  std::vector<rlimit_spec> limits(node_id id);

  std::map<failure_mode, reference> on(node_id id);

  std::map<failure_mode, config::severity> severities(node_id id);

  // -- probes ---------------------------------------------------------------

  std::vector<probe_spec> probes(node_id id);

  std::optional<probe_spec> probe(node_id id);

  void expect(node_id id, const std::string& label, http_probe& x);

  void check_regex(node_id id, const std::string& label,
                   const std::string& pattern);

  // -- playbooks ------------------------------------------------------------

  void load_playbooks(node_id id);

  playbook_spec playbook(const std::string& name, node_id id);

  std::optional<step_spec> step(node_id id, const std::string& label);

  std::optional<int> signal(node_id id, const std::string& label);

  bool notify(node_id id, const std::string& label, step_spec& s);

  // -- cross-references -----------------------------------------------------

  void index(const supervisor_spec& sup);

  void resolve();

  template <class OnChild, class OnSupervisor>
  void visit_all(OnChild on_child, OnSupervisor on_supervisor) {
    std::function<void(supervisor_spec&)> rec = [&](supervisor_spec& s) {
      on_supervisor(s);
      for (auto& c : s.children) {
        if (auto* sub = std::get_if<supervisor_spec>(&c.node))
          rec(*sub);
        else
          on_child(std::get<child_spec>(c.node));
      }
    };
    rec(cfg_.root);
  }

  void check_anomalies(child_spec& c);

  // Start-up dependencies form a graph over components: a dependent waits for
  // its dependency, and a supervisor is ready only when its children are, so
  // it waits for them too. A cycle in that graph would wait forever.
  void check_cycles();

  // A dependency must be ready before its dependent starts. Children start
  // in list order, each ready before the next, depth first: so the
  // dependency must come earlier in that order (and not inside the
  // dependent).
  void check_start_order();

  void check_playbook_cycles();

  void check_ports();

  walker& w_;
  grace_config& cfg_;
  std::size_t components_ = 0;
  int depth_ = 0;
  bool too_many_ = false;
  std::map<std::string, std::vector<std::string>> pools_; // pool -> replicas
  std::unordered_map<std::string, source_pos> where_of_;  // every path
  std::vector<std::string> order_;
};

} // namespace grace::config::detail
