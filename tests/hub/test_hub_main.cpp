// The test Hub as a program, for tests in other processes (Python interop and CLI tests):
//   moeroute_test_hub [--tls CA_PEM_OUT] [--page-size N]
//                     [--repo TYPE:ID=DIR]...        serve a directory as a repository (TYPE model|dataset)
//                     [--token TYPE:ID=TOKEN]...     the repository needs this token (private)
//                     [--gated TYPE:ID=TOKEN]...     the same, answered as a gated repository
//                     [--slow TYPE:ID:PATH=MS]...    that file's body pauses MS ms every 4 kB
// Prints "endpoint <URL>" and "commit TYPE:ID <hash>" lines on stdout, then serves until stdin
// closes. GET <URL>/_test/requests returns the request log as JSON.
#include <cstdio>
#include <iostream>
#include <string>

#include "hub/test_hub.h"

namespace {

struct Spec {
  std::string type, id, rest;
};

// "TYPE:ID=VALUE" → {type, id, value}.
Spec parse(const std::string& arg) {
  const auto colon = arg.find(':');
  const auto eq = arg.find('=');
  if (colon == std::string::npos || eq == std::string::npos || eq < colon) throw std::runtime_error("bad argument: " + arg);
  return {arg.substr(0, colon), arg.substr(colon + 1, eq - colon - 1), arg.substr(eq + 1)};
}

}  // namespace

int main(int argc, char** argv) {
  try {
    moeroute::test::TestHub::Options options;
    std::vector<std::pair<std::string, std::string>> actions;
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if (i + 1 >= argc) throw std::runtime_error("missing value after " + a);
      const std::string v = argv[++i];
      if (a == "--tls") {
        options.tls = true;
        options.ca_file = v;
      } else if (a == "--page-size") {
        options.tree_page_size = std::stoul(v);
      } else {
        actions.emplace_back(a, v);
      }
    }
    moeroute::test::TestHub hub(options);
    std::cout << "endpoint " << hub.endpoint() << "\n";
    for (const auto& [a, v] : actions) {
      const Spec s = parse(v);
      if (a == "--repo") {
        std::cout << "commit " << s.type << ":" << s.id << " " << hub.add_directory(s.type, s.id, s.rest) << "\n";
      } else if (a == "--token" || a == "--gated") {
        hub.require_token(s.type, s.id, s.rest, a == "--gated");
      } else if (a == "--slow") {
        const auto colon = s.id.find(':');
        moeroute::test::Fault f;
        f.slow_ms = std::stoi(s.rest);
        hub.set_fault(s.type, s.id.substr(0, colon), s.id.substr(colon + 1), f);
      } else {
        throw std::runtime_error("unknown option " + a);
      }
    }
    std::cout << "ready" << std::endl;
    for (int c; (c = std::getchar()) != EOF;) {
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "moeroute_test_hub: " << e.what() << "\n";
    return 2;
  }
}
