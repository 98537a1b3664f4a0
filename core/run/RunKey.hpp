// The key of a memoized command: a 128-bit XXH3 hash over everything that decides its output
// as far as cacheman can see. Each part is listed for `run --explain`.
#pragma once

#include "base/Location.hpp"
#include "base/Spool.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cacheman {

// What a stream of input hashed to (run --stdin).
struct InputSummary {
    std::uint64_t bytes = 0;
    std::string digest; // 32 hex digits
};

struct RunSpec {
    std::vector<std::string> argv;        // the command and its arguments
    std::string cwd;                      // working directory
    std::vector<std::string> env_names;   // --env: these variables' values (unset differs from "")
    std::vector<std::string> watch_paths; // --watch: these paths' contents
    std::vector<std::string> extra_keys;  // --key, in order
    std::optional<InputSummary> stdin;    // --stdin: the bytes it will receive
    // --root: an absolute path without symbolic links; the working directory and the watched
    // paths (and the outputs) then enter the key relative to it (the root itself does not).
    std::optional<std::string> root;
    std::vector<std::string> output_paths; // --output: the paths declared, in order
};

struct KeyPart {
    std::string label;       // "argv", "cwd", "env PATH", "watch src", "key"
    std::string description; // a readable summary of what was hashed
};

struct RunKey {
    std::string hex; // 32 hex digits: the cache entry's key
    std::vector<KeyPart> parts;
};

// stdin read to its end into an unlinked private file (in $TMPDIR, else /tmp), hashed on the
// way: the command gets the same bytes from fd(). Memory stays bounded whatever the size.
class CapturedInput {
  public:
    // Throws UsageError when `fd` cannot be read, StoreError when no file can hold it.
    explicit CapturedInput(int fd);
    [[nodiscard]] int fd() const { return m_fd; }
    [[nodiscard]] const InputSummary& summary() const { return m_summary; }

  private:
    Spool m_spool{0};
    int m_fd = -1;
    InputSummary m_summary;
};

// `path` (absolute, or relative to `cwd`) as it enters the key under --root: relative to `root`
// after lexical normalisation ("." for the root itself). Throws UsageError when it is outside.
std::string relative_to_root(const std::string& path, const std::string& cwd,
                             const std::string& root, const std::string& what);

// Hashes the spec. A watched file contributes its bytes; a directory every entry below it
// (relative path, type, and a file's bytes or a symlink's target, in byte order of the paths); a
// missing path counts as its own state. Throws UsageError when a watched path cannot be read.
RunKey compute_run_key(const RunSpec& spec, const EnvLookup& env = process_env);

} // namespace cacheman
