// One memoized execution of a command: what it printed, in the order it printed it, how it
// ended, when and how long it took. Stored as the value of an ordinary cache entry, and published
// to waiting processes.
#pragma once

#include "base/Spool.hpp"
#include "outputs/Tree.hpp"

#include <cstdint>
#include <functional>
#include <memory>
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

// Streams up to this size are kept in the record itself; larger ones are kept as a content
// (a chunk log: see StreamRecorder), so that no record holds them in memory.
constexpr std::size_t k_largest_inline_streams = std::size_t{1} << 20;

struct RunRecord {
    int exit_code = 0;         // as a shell reports it: 0-255, 128+N when killed by signal N
    double duration = 0;       // seconds
    double created_at = 0;     // unix seconds
    std::vector<Chunk> chunks; // stdout and stderr, in the order they arrived (when small)
    std::vector<outputs::Manifest> outputs; // --output, in the order declared
    // When the streams outgrew the record: the content address of their chunk log, its size.
    std::optional<std::string> streams_content;
    std::uint64_t streams_size = 0;

    // Records bytes written to `stream` after everything recorded so far.
    void append(Stream stream, std::string_view bytes);
    // All the bytes of one stream, of the chunks kept in the record.
    [[nodiscard]] std::string bytes_of(Stream stream) const;
    // The content addresses the record refers to (the outputs' files, the streams), each once.
    [[nodiscard]] std::vector<std::string> content_digests() const;
    // The size of the streams, wherever they are kept.
    [[nodiscard]] std::uint64_t streams_bytes() const;
};

// A chunk log: each chunk as its stream (one byte), its size (8 bytes, native order) and its
// bytes, back to back. This reads one handed over in pieces of any size, passing each chunk's
// bytes on as they come, in bounded memory.
class ChunkLogReader {
  public:
    using Sink = std::function<void(Stream, std::string_view)>;
    explicit ChunkLogReader(Sink sink) : m_sink(std::move(sink)) {}
    // False once the log is malformed (an unknown stream); nothing more is passed on then.
    bool feed(std::string_view piece);
    // Whether the log read so far ends where a chunk ends.
    [[nodiscard]] bool complete() const { return !m_broken && m_header.empty() && m_left == 0; }

  private:
    Sink m_sink;
    std::string m_header; // of the next chunk, while incomplete
    std::uint64_t m_left = 0;
    Stream m_stream = Stream::out;
    bool m_broken = false;
};

// Records a command's streams as they arrive, in bounded memory: in the record while they are
// at most k_largest_inline_streams, then as a chunk log in a spool (an unlinked temporary file).
class StreamRecorder {
  public:
    explicit StreamRecorder(RunRecord& record) : m_record(record) {}
    void append(Stream stream, std::string_view bytes);
    // The spool holding the chunk log once the streams outgrew the record (its chunks were
    // moved there), else nullptr. Throws StoreError when it could not be written (the bytes
    // that arrived after that were not recorded).
    Spool* spilled();

  private:
    void spill(Stream stream, std::string_view bytes);
    void flush_pending();
    RunRecord& m_record;
    std::string m_problem; // why the streams could not be kept
    std::size_t m_inline_size = 0;
    std::unique_ptr<Spool> m_spool;
    Stream m_pending_stream = Stream::out;
    std::string m_pending; // the last chunk, gathered before it goes to the spool
};

// A self-delimiting binary encoding with a magic prefix and a version.
std::string encode(const RunRecord& record);
// nullopt when bytes are not a complete record of a version this binary reads (version 1 records
// kept stdout and stderr apart: they decode as all of stdout, then all of stderr; version 4 added
// streams kept as a content).
std::optional<RunRecord> decode_run_record(std::string_view bytes);

} // namespace cacheman
