#include "config/loader.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <tuple>

#include "config/cluster.hpp"
#include "config/loader_impl.hpp"

namespace fs = std::filesystem;

namespace grace::config {

namespace detail {

void loader::load(std::optional<node_id> root) {
  if (!root || w_.at(*root).type == yaml_node::kind::null) {
    w_.error(source_pos{cfg_.file, 1, 1},
             "empty config (expected a mapping with 'grace: 1' and "
             "'supervisor:')");
    return;
  }
  fields top{w_, *root, "", top_keys};
  if (!top.valid())
    return;
  if (auto v = top.get("grace")) {
    if (auto version = w_.integer(*v, "grace", 0, 1'000'000)) {
      if (*version != defaults::schema_version)
        w_.error(*v, "grace: unsupported schema version "
                       + std::to_string(*version) + " (this grace reads "
                       + std::to_string(defaults::schema_version) + ")");
    }
  } else {
    top.missing("grace");
  }
  cfg_.log_dir = w_.absolute(std::string{defaults::log_dir});
  if (auto v = top.get("log_dir"))
    if (auto dir = w_.nonempty_string(*v, "log_dir"))
      cfg_.log_dir = w_.absolute(*dir);
  if (auto v = top.get("metrics"))
    load_metrics(*v);
  if (auto v = top.get("audit")) {
    cfg_.audit_configured = true;
    fields audit{w_, *v, "audit", {"fsync"}};
    if (auto f = audit.get("fsync"))
      if (auto policy = w_.enumeration<fsync_policy>(*f, "audit.fsync"))
        cfg_.fsync = *policy;
  }
  cfg_.default_shutdown
    = {shutdown_spec::kind::timeout, defaults::child_shutdown};
  cfg_.default_backoff = {defaults::backoff_min, defaults::backoff_max,
                          defaults::backoff_factor, defaults::backoff_jitter};
  if (auto v = top.get("defaults")) {
    fields defs{w_, *v, "defaults", {"shutdown", "backoff"}};
    if (auto s = defs.get("shutdown"))
      cfg_.default_shutdown
        = shutdown(*s, "defaults.shutdown", cfg_.default_shutdown);
    if (auto b = defs.get("backoff"))
      cfg_.default_backoff
        = backoff(*b, "defaults.backoff", cfg_.default_backoff);
  }
  if (auto v = top.get("restart_budget")) {
    fields b{w_, *v, "restart_budget", {"restarts", "period"}};
    budget_spec budget;
    budget.period = std::chrono::minutes{1};
    bool ok = b.valid();
    if (auto r = b.get("restarts")) {
      if (auto x = w_.integer(*r, "restart_budget.restarts", 1, 100'000'000))
        budget.restarts = static_cast<int>(*x);
      else
        ok = false;
    } else {
      b.missing("restarts");
      ok = false;
    }
    if (auto p = b.get("period")) {
      if (auto x = w_.dur(*p, "restart_budget.period", false,
                          std::chrono::milliseconds{1}))
        budget.period = *x;
      else
        ok = false;
    }
    if (ok)
      cfg_.restart_budget = budget;
  }
  if (auto v = top.get("cluster")) {
    load_cluster(*v);
    if (cfg_.cluster)
      cfg_.cluster->where = w_.pos(*top.key_node("cluster"));
  }
  if (auto v = top.get("playbooks"))
    load_playbooks(*v);
  if (auto v = top.get("supervisor")) {
    cfg_.root = supervisor(*v, "", true);
    resolve();
  } else {
    top.missing("supervisor");
  }
}

} // namespace detail

namespace {

using detail::alias_budget_exceeded;
using detail::loader;
using detail::walker;

void sort_and_dedupe(std::vector<config_error>& errors) {
  std::stable_sort(errors.begin(), errors.end(), [](auto& a, auto& b) {
    return std::tie(a.where.line, a.where.column)
           < std::tie(b.where.line, b.where.column);
  });
  errors.erase(std::unique(errors.begin(), errors.end()), errors.end());
}

} // namespace

load_result load_text(std::string_view text, const std::string& file,
                      const std::string& base_dir) {
  load_result result;
  auto doc = parse_yaml(text, file, result.errors);
  if (!result.errors.empty()) {
    sort_and_dedupe(result.errors);
    return result;
  }
  grace_config cfg;
  cfg.file = file;
  cfg.digest = digest(text);
  cfg.base_dir = fs::path{base_dir}.lexically_normal().string();
  walker w{doc, result.errors, cfg.base_dir};
  try {
    loader{w, cfg}.load(doc.root);
  } catch (const alias_budget_exceeded& e) {
    result.errors.push_back(
      {w.pos(e.at),
       "aliases expand the config far beyond its size (an alias bomb?)"});
  }
  sort_and_dedupe(result.errors);
  if (result.errors.empty())
    result.config = std::move(cfg);
  return result;
}

load_result load_file(const std::string& path) {
  load_result result;
  auto fail = [&](std::string message) {
    result.errors.push_back({{path, 1, 1}, std::move(message)});
    return result;
  };
  std::error_code ec;
  auto status = fs::status(path, ec);
  if (ec || !fs::exists(status))
    return fail("cannot read config: "
                + (ec ? ec.message() : std::string{"no such file"}));
  if (fs::is_directory(status))
    return fail("cannot read config: is a directory");
  if (!fs::is_regular_file(status))
    return fail("cannot read config: not a regular file");
  auto size = fs::file_size(path, ec);
  if (!ec && size > max_config_bytes)
    return fail("file is too large (" + std::to_string(size)
                + " bytes, at most " + std::to_string(max_config_bytes) + ")");
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return fail(std::string{"cannot read config: "} + std::strerror(errno));
  std::string text;
  text.resize(static_cast<std::size_t>(size));
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad())
    return fail(std::string{"cannot read config: "} + std::strerror(errno));
  text.resize(static_cast<std::size_t>(in.gcount()));
  auto base = fs::absolute(fs::path{path}, ec).parent_path();
  return load_text(text, path, base.string());
}

grace_config load_config(const std::string& path) {
  auto result = load_file(path);
  if (!result.config)
    throw config_exception(std::move(result.errors));
  return std::move(*result.config);
}

} // namespace grace::config
