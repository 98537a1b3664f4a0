// One memoized execution of a command: what it printed, how it ended, when and how long it took.
// Stored as the value of an ordinary cache entry, and published to waiting processes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cacheman {

struct RunRecord {
    int exit_code = 0;     // as a shell reports it: 0-255, 128+N when killed by signal N
    double duration = 0;   // seconds
    double created_at = 0; // unix seconds
    std::string out;       // stdout bytes
    std::string err;       // stderr bytes
};

// A self-delimiting binary encoding with a magic prefix and a version.
std::string encode(const RunRecord& record);
// nullopt when bytes are not a complete record of a version this binary reads.
std::optional<RunRecord> decode_run_record(std::string_view bytes);

} // namespace cacheman
