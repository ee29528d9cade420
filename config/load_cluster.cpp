// The loader (loader_impl.hpp): `cluster:` and the `nodes:` of children and
// subtrees (SPEC.md section 9).
#include <charconv>
#include <functional>

#include "config/loader_impl.hpp"

namespace grace::config::detail {

void loader::load_cluster(node_id id) {
  fields f{w_, id, "cluster", cluster_keys};
  if (!f.valid())
    return;
  cluster_spec c;
  if (auto v = f.get("nodes")) {
    fields nodes{w_, *v, "cluster.nodes"};
    if (nodes.valid() && nodes.entries().empty())
      w_.error(*v, "cluster.nodes: name at least one node");
    for (auto& e : nodes.entries()) {
      auto label = "cluster.nodes." + e.key;
      if (auto why = check_name(e.key); !why.empty())
        w_.error(e.key_node, label + ": " + why);
      auto address = host_port(e.value, label, "127.0.0.1:4701");
      if (!address)
        continue;
      for (auto& other : c.nodes)
        if (other.address.host == address->host
            && other.address.port == address->port)
          w_.error(e.value, label + ": " + address->host + ":"
                              + std::to_string(address->port) + " is "
                              + other.name + "'s address too (line "
                              + std::to_string(other.where.line) + ")");
      c.nodes.push_back({e.key, *address, w_.pos(e.key_node)});
    }
  } else {
    f.missing("nodes");
  }
  std::vector<std::string_view> names;
  for (auto& n : c.nodes)
    names.push_back(n.name);
  if (auto v = f.get("node"))
    if (auto name = w_.nonempty_string(*v, "cluster.node")) {
      c.node = *name;
      if (!c.nodes.empty()
          && std::find(names.begin(), names.end(), c.node) == names.end())
        w_.error(*v, "cluster.node: " + quote(c.node)
                       + " is not one of cluster.nodes"
                       + did_you_mean(c.node, names));
    }
  auto heartbeat = f.get("heartbeat");
  if (heartbeat)
    if (auto d = w_.dur(*heartbeat, "cluster.heartbeat", false,
                        std::chrono::milliseconds{10}))
      c.heartbeat = *d;
  if (auto v = f.get("down_after")) {
    if (auto d = w_.dur(*v, "cluster.down_after", false,
                        std::chrono::milliseconds{10})) {
      c.down_after = *d;
      if (c.down_after <= c.heartbeat)
        w_.error(*v, "cluster.down_after: must be longer than heartbeat ("
                       + format_duration(c.heartbeat)
                       + "), or a node is down between two heartbeats");
    }
  } else if (heartbeat && c.heartbeat >= c.down_after) {
    w_.error(*heartbeat, "cluster.heartbeat: must be shorter than down_after ("
                           + format_duration(c.down_after) + ")");
  }
  c.quorum = c.nodes.size() / 2 + 1; // majority
  if (auto v = f.get("quorum"))
    quorum(*v, c);
  if (auto v = f.get("failback"))
    if (auto x = w_.boolean(*v, "cluster.failback"))
      c.failback = *x;
  if (auto v = f.get("tls")) {
    fields t{w_, *v, "cluster.tls", tls_keys};
    if (t.valid()) {
      tls_spec tls;
      for (auto [key, into] :
           {std::pair{"cert", &tls.cert}, std::pair{"key", &tls.key},
            std::pair{"ca", &tls.ca}}) {
        if (auto x = t.get(key)) {
          if (auto path = w_.nonempty_string(*x, t.label(key)))
            *into = w_.absolute(*path);
        } else {
          t.missing(key);
        }
      }
      c.tls = std::move(tls);
    }
  }
  cfg_.cluster = std::move(c);
}

void loader::quorum(node_id id, cluster_spec& c) {
  if (!w_.expect_scalar(id, "cluster.quorum", "majority or a number of nodes"))
    return;
  auto& text = w_.at(id).value;
  if (text == "majority")
    return;
  std::size_t n = 0;
  auto res = std::from_chars(text.data(), text.data() + text.size(), n);
  if (res.ec != std::errc{} || res.ptr != text.data() + text.size() || n == 0) {
    w_.error(id, "cluster.quorum: expected majority or a number of nodes "
                 "(at least 1), got "
                   + quote(text));
    return;
  }
  if (!c.nodes.empty() && n > c.nodes.size()) {
    w_.error(id, "cluster.quorum: " + text + " is more than the "
                   + std::to_string(c.nodes.size())
                   + " nodes: a quorum could never form");
    return;
  }
  c.quorum = n;
}

std::vector<reference> loader::nodes(node_id id) {
  auto result = names(id, "nodes", "node names");
  if (result.empty() && w_.at(id).type == yaml_node::kind::sequence)
    w_.error(id, "nodes: an empty list places it nowhere (leave nodes: out "
                 "to run it on every node)");
  return result;
}

void loader::check_cluster() {
  std::vector<std::string_view> names;
  if (cfg_.cluster)
    for (auto& n : cfg_.cluster->nodes)
      names.push_back(n.name);
  // `placed`: the subtree above that has `nodes:`, if any.
  std::function<void(const std::vector<reference>&, const std::string&,
                     const std::string&)>
    check = [&](const std::vector<reference>& nodes, const std::string& path,
                const std::string& placed) {
      if (nodes.empty())
        return;
      auto& at = nodes.front().where;
      if (!cfg_.cluster) {
        w_.error(at, "nodes: needs a cluster: section that names the nodes");
        return;
      }
      if (!placed.empty()) {
        w_.error(at, "nodes: " + path + " is inside " + placed
                       + ", which moves as a whole (its nodes: decide)");
        return;
      }
      for (auto& n : nodes)
        if (std::find(names.begin(), names.end(), n.name) == names.end())
          w_.error(n.where, "nodes: unknown node " + quote(n.name)
                              + did_you_mean(n.name, names));
    };
  std::function<void(const supervisor_spec&, const std::string&)> walk
    = [&](const supervisor_spec& s, const std::string& placed) {
        for (auto& c : s.children) {
          if (auto* sub = std::get_if<supervisor_spec>(&c.node)) {
            check(sub->nodes, sub->path, placed);
            walk(*sub,
                 placed.empty() && !sub->nodes.empty() ? sub->path : placed);
          } else {
            auto& child = std::get<child_spec>(c.node);
            check(child.nodes, child.path, placed);
          }
        }
      };
  walk(cfg_.root, {});
}

} // namespace grace::config::detail
