#include "config/cluster.hpp"

#include <algorithm>
#include <functional>

#include <openssl/evp.h>

#include "config/suggest.hpp"

namespace grace::config {

std::string digest(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md, &size, EVP_sha256(), nullptr)
      != 1)
    return {};
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * size);
  for (unsigned int i = 0; i < size; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 0x0f];
  }
  return out;
}

std::vector<config_error> choose_node(grace_config& cfg,
                                      const std::string& name) {
  std::vector<config_error> out;
  source_pos file{cfg.file, 1, 1};
  if (!cfg.cluster) {
    if (!name.empty())
      out.push_back(
        {file, "--node " + name + ": the config has no cluster: section"});
    return out;
  }
  auto& c = *cfg.cluster;
  // Each node keeps its own log_dir (its incidents, its socket), so that
  // nodes sharing a machine or a network disk never mix them.
  auto own_log_dir = [&] {
    if (!c.node.empty())
      cfg.log_dir += "/" + c.node;
  };
  if (name.empty()) {
    if (c.node.empty())
      out.push_back({c.where, "cluster: name this node with cluster.node or "
                              "--node NAME"});
    own_log_dir();
    return out;
  }
  std::vector<std::string_view> names;
  for (auto& n : c.nodes)
    names.push_back(n.name);
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    out.push_back({c.where, "--node " + name + ": not one of cluster.nodes"
                              + did_you_mean(name, names)});
    return out;
  }
  c.node = name;
  own_log_dir();
  return out;
}

namespace {

void placed_units(const supervisor_spec& sup, const std::string& unit,
                  std::map<std::string, std::string>& out) {
  auto& mine = out[sup.path] = !sup.nodes.empty() ? sup.path : unit;
  for (auto& c : sup.children) {
    if (auto* s = std::get_if<supervisor_spec>(&c.node)) {
      placed_units(*s, mine, out);
      continue;
    }
    auto& ch = std::get<child_spec>(c.node);
    out[ch.path] = !ch.nodes.empty() ? ch.path : mine;
  }
}

} // namespace

cluster_layout layout_of(const grace_config& cfg) {
  cluster_layout out;
  if (!cfg.cluster)
    return out;
  placed_units(cfg.root, "", out.unit);
  auto crossing
    = [&](const std::string& path, const std::vector<reference>& refs) {
        for (auto& d : refs) {
          auto it = out.unit.find(d.name);
          if (it == out.unit.end() || it->second.empty()
              || it->second == out.unit[path])
            continue; // runs on every node, or moves with `path`
          out.shared[d.name] = it->second;
          out.gated[path].push_back(d.name);
        }
      };
  std::function<void(const supervisor_spec&)> walk
    = [&](const supervisor_spec& sup) {
        crossing(sup.path, sup.depends_on);
        for (auto& c : sup.children) {
          if (auto* s = std::get_if<supervisor_spec>(&c.node))
            walk(*s);
          else
            crossing(std::get<child_spec>(c.node).path,
                     std::get<child_spec>(c.node).depends_on);
        }
      };
  walk(cfg.root);
  return out;
}

} // namespace grace::config
