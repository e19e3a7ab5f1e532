// props/main.cpp: runner shared by the property binaries.
//
//   build/props/pN [--list] [--only NAME]...
//       run the registered properties (all, or those named); one line each,
//       "PASS: props/NAME" or "FAIL: props/NAME".  A failing property writes
//       its shrunk sequence to $PROPS_REPRO_DIR/NAME.{ops,txt} (default
//       repro/props).  Case counts: RC_PARAMS="max_success=N" (rapidcheck).
//   build/props/pN --expect-fail NAME --max-cmds K --label L
//       mutant mode: PASS: props/L when property NAME fails AND its shrunk
//       counterexample has at most K commands; writes it to
//       $PROPS_REPRO_DIR/L.{ops,txt}.
#include "props.h"

#include <unistd.h>

#include <iostream>

static std::string repro_dir() {
  const char *d = getenv("PROPS_REPRO_DIR");
  return d && *d ? d : "repro/props";
}

static std::string sanitize(const std::string &s) {
  std::string o;
  for (char c : s) o += (isalnum((unsigned char)c) || c == '-' || c == '_') ? c : '_';
  return o;
}

static void say(const std::string &line) {
  std::string l = line + "\n";
  ssize_t w = write(1, l.data(), l.size());
  (void)w;
}

static void write_repro(const std::string &name, const std::string &why) {
  props::Failure &f = props::last_failure();
  if (!f.set) return;
  std::string path = repro_dir() + "/" + sanitize(name);
  std::string msg = f.why;
  for (size_t i = 0; (i = msg.find('\n', i)) != std::string::npos; i += 3) msg.replace(i, 1, "\n# ");
  std::string note = "# props: " + why + "\n# failure: " + msg + "\n# shrunk counterexample, " +
                     std::to_string(f.ncmds) + " commands:\n" + f.listing;
  bool ops = props::emit_ops(f.trace, path, note);
  say("  shrunk counterexample (" + std::to_string(f.ncmds) + " commands):");
  std::istringstream is(f.listing);
  for (std::string l; std::getline(is, l);) say("    " + l);
  // The first two non-empty lines: a crash's is "child killed by signal ...;
  // its stderr:", the core's own "hakmem: ..." report follows.
  std::istringstream ws(f.why);
  int shown = 0;
  for (std::string l; shown < 2 && std::getline(ws, l);)
    if (!l.empty()) say(std::string(shown++ ? "           " : "  failure: ") + l);
  say("  replayable input: " + path + (ops ? ".ops (build/fuzz/ops-replay " + path + ".ops)" : ".txt (no .ops encoding)"));
}

int main(int argc, char **argv) {
  std::vector<std::string> only;
  std::string expect, label;
  long max_cmds = 8;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--list") {
      for (auto &p : props::registry()) say(p.name);
      return 0;
    } else if (a == "--only" && i + 1 < argc) {
      only.push_back(argv[++i]);
    } else if (a == "--expect-fail" && i + 1 < argc) {
      expect = argv[++i];
    } else if (a == "--max-cmds" && i + 1 < argc) {
      max_cmds = atol(argv[++i]);
    } else if (a == "--label" && i + 1 < argc) {
      label = argv[++i];
    } else {
      fprintf(stderr, "usage: %s [--list] [--only NAME]... | --expect-fail NAME --max-cmds K --label L\n", argv[0]);
      return 2;
    }
  }

  if (!expect.empty()) {
    if (label.empty()) label = "mutant-" + expect;
    for (auto &p : props::registry()) {
      if (expect != p.name) continue;
      props::last_failure() = props::Failure();
      bool held = p.run();
      props::Failure &f = props::last_failure();
      if (held) {
        say("  property " + expect + " held on the mutant: the bug went unnoticed");
        say("FAIL: props/" + label);
        return 1;
      }
      write_repro(label, "property " + expect + " on mutant " + label);
      if (!f.set || (long)f.ncmds > max_cmds) {
        say("  shrunk counterexample too long: " + std::to_string(f.ncmds) + " commands > " + std::to_string(max_cmds));
        say("FAIL: props/" + label);
        return 1;
      }
      say("PASS: props/" + label);
      return 0;
    }
    say("FAIL: props/" + label + " (no property named " + expect + ")");
    return 1;
  }

  int failed = 0, ran = 0;
  for (auto &p : props::registry()) {
    if (!only.empty() && std::find(only.begin(), only.end(), p.name) == only.end()) continue;
    ran++;
    props::last_failure() = props::Failure();
    bool held = p.run();
    if (held) {
      say(std::string("PASS: props/") + p.name);
    } else {
      failed++;
      write_repro(p.name, std::string("property ") + p.name + " failed");
      say(std::string("FAIL: props/") + p.name);
    }
  }
  if (ran == 0) {
    say("FAIL: props (no property matched)");
    return 1;
  }
  return failed ? 1 : 0;
}
