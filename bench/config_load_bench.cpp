// Config loading: how long `grace check` / `grace run` spend turning YAML into
// a validated tree, for trees of 10 to 10,000 children. The baseline, measured
// in the same run, is yaml-cpp reading the same text into a document; the
// ratio says what validation adds on top of parsing.
//
//   build-bench/bench/config_load_bench [--json FILE] [--runs N]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "bench/stats.hpp"
#include "config/document.hpp"
#include "config/loader.hpp"

using namespace grace;

namespace {

std::string tree(int children) {
  std::string yaml = "grace: 1\nsupervisor:\n  name: root\n  children:\n";
  for (int i = 0; i < children; ++i) {
    auto n = std::to_string(i);
    yaml += "    - name: c" + n + "\n      command: [./bin/app, --id, \"" + n
            + "\"]\n      env: {MODE: fast}\n      ready: {tcp: "
            + std::to_string(10000 + i)
            + ", within: 5s}\n      probes:\n        - {kind: http, url: "
              "\"http://127.0.0.1:"
            + std::to_string(10000 + i) + "/health\", every: 1s}\n";
  }
  return yaml;
}

template <class F>
std::vector<double> measure(int runs, F f) {
  std::vector<double> xs;
  for (int i = 0; i < runs; ++i) {
    auto start = std::chrono::steady_clock::now();
    f();
    xs.push_back(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
        .count());
  }
  return xs;
}

} // namespace

int main(int argc, char** argv) {
  std::string json_path;
  int runs = 30;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--json") && i + 1 < argc)
      json_path = argv[++i];
    else if (!std::strcmp(argv[i], "--runs") && i + 1 < argc)
      runs = std::max(1, std::atoi(argv[++i]));
  }
  bench::print_header();
  std::vector<std::string> json;
  for (int children : {10, 100, 1000, 10000}) {
    auto yaml = tree(children);
    auto n = children >= 10000 ? std::max(3, runs / 10) : runs;
    auto parse = measure(n, [&] {
      std::vector<config::config_error> errors;
      auto doc = config::parse_yaml(yaml, "bench.yaml", errors);
      if (!errors.empty() || doc.nodes.empty())
        std::abort();
    });
    auto load = measure(n, [&] {
      auto r = config::load_text(yaml, "bench.yaml", "/srv");
      if (!r.config)
        std::abort();
    });
    auto ps = bench::summarise(parse);
    auto ls = bench::summarise(load);
    auto name = std::to_string(children) + " children";
    bench::print_row(name + " yaml only", ps);
    bench::print_row(name + " load", ls);
    std::printf("%-28s load/yaml p50 ratio %.2f (%zu bytes)\n", "",
                ls.p50 / ps.p50, yaml.size());
    json.push_back(bench::to_json(name + " yaml only", ps));
    json.push_back(bench::to_json(name + " load", ls));
  }
  grace::bench::emit_json(json, json_path);
}
