// The key of a memoized command: a 128-bit XXH3 hash over everything that decides its output
// as far as cacheman can see. Each part is listed for `run --explain`.
#pragma once

#include "base/Location.hpp"

#include <optional>
#include <string>
#include <vector>

namespace cacheman {

struct RunSpec {
    std::vector<std::string> argv;        // the command and its arguments
    std::string cwd;                      // working directory
    std::vector<std::string> env_names;   // --env: these variables' values (unset differs from "")
    std::vector<std::string> watch_paths; // --watch: these paths' contents
    std::optional<std::string> extra_key; // --key
};

struct KeyPart {
    std::string label;       // "argv", "cwd", "env PATH", "watch src", "key"
    std::string description; // a readable summary of what was hashed
};

struct RunKey {
    std::string hex; // 32 hex digits: the cache entry's key
    std::vector<KeyPart> parts;
};

// Hashes the spec. A watched file contributes its bytes; a directory every entry below it
// (relative path, type, and a file's bytes or a symlink's target, in byte order of the paths); a
// missing path counts as its own state. Throws UsageError when a watched path cannot be read.
RunKey compute_run_key(const RunSpec& spec, const EnvLookup& env = process_env);

} // namespace cacheman
