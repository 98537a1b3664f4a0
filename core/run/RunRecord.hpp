// One memoized execution of a command: what it printed, in the order it printed it, how it
// ended, when and how long it took. Stored as the value of an ordinary cache entry, and published
// to waiting processes.
#pragma once

#include "outputs/Tree.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cacheman {

enum class Stream : unsigned char { out = 1, err = 2 };

// Bytes the command wrote to one stream, in one go (adjacent writes to one stream are merged).
struct Chunk {
    Stream stream = Stream::out;
    std::string bytes;
    friend bool operator==(const Chunk&, const Chunk&) = default;
};

struct RunRecord {
    int exit_code = 0;         // as a shell reports it: 0-255, 128+N when killed by signal N
    double duration = 0;       // seconds
    double created_at = 0;     // unix seconds
    std::vector<Chunk> chunks; // stdout and stderr, in the order they arrived
    std::vector<outputs::Manifest> outputs; // --output, in the order declared

    // Records bytes written to `stream` after everything recorded so far.
    void append(Stream stream, std::string_view bytes);
    // All the bytes of one stream.
    [[nodiscard]] std::string bytes_of(Stream stream) const;
    // The content addresses of the outputs' files, each once.
    [[nodiscard]] std::vector<std::string> content_digests() const;
};

// A self-delimiting binary encoding with a magic prefix and a version.
std::string encode(const RunRecord& record);
// nullopt when bytes are not a complete record of a version this binary reads (version 1 records
// kept stdout and stderr apart: they decode as all of stdout, then all of stderr).
std::optional<RunRecord> decode_run_record(std::string_view bytes);

} // namespace cacheman
