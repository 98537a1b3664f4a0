#include "run/RunRecord.hpp"

#include "base/Error.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace cacheman {

namespace {

constexpr std::string_view k_magic_v1{"cacheman-run\x01", 13};
constexpr std::string_view k_magic_v2{"cacheman-run\x02", 13};
// Version 3 appends the outputs' manifests.
constexpr std::string_view k_magic_v3{"cacheman-run\x03", 13};
// Version 4 adds the files' stamps, and where the streams are kept when they are not in the
// record.
constexpr std::string_view k_magic{"cacheman-run\x04", 13};

// A chunk's framing in a chunk log: its stream, then its size.
constexpr std::size_t k_chunk_header = 1 + sizeof(std::uint64_t);

template <typename T> void put(std::string& out, T value) {
    char bytes[sizeof(T)];
    std::memcpy(bytes, &value, sizeof(T));
    out.append(bytes, sizeof(T));
}

template <typename T> bool take(std::string_view& in, T& value) {
    if (in.size() < sizeof(T)) {
        return false;
    }
    std::memcpy(&value, in.data(), sizeof(T));
    in.remove_prefix(sizeof(T));
    return true;
}

bool take_bytes(std::string_view& in, std::string& value) {
    std::uint64_t size = 0;
    if (!take(in, size) || in.size() < size) {
        return false;
    }
    value.assign(in.substr(0, size));
    in.remove_prefix(size);
    return true;
}

bool take_header(std::string_view& in, RunRecord& record) {
    std::int32_t code = 0;
    if (!take(in, code) || !take(in, record.duration) || !take(in, record.created_at)) {
        return false;
    }
    record.exit_code = code;
    return true;
}

std::string chunk_header(Stream stream, std::uint64_t size) {
    std::string header;
    put<unsigned char>(header, static_cast<unsigned char>(stream));
    put<std::uint64_t>(header, size);
    return header;
}

void put_bytes(std::string& out, std::string_view bytes) {
    put<std::uint64_t>(out, bytes.size());
    out.append(bytes);
}

void put_manifests(std::string& out, const std::vector<outputs::Manifest>& manifests) {
    put<std::uint64_t>(out, manifests.size());
    for (const auto& manifest : manifests) {
        put_bytes(out, manifest.declared);
        put<std::uint64_t>(out, manifest.nodes.size());
        for (const auto& node : manifest.nodes) {
            put_bytes(out, node.path);
            put<unsigned char>(out, static_cast<unsigned char>(node.kind));
            put<unsigned char>(out, node.executable ? 1 : 0);
            put<std::uint64_t>(out, node.size);
            put_bytes(out, node.digest);
            put_bytes(out, node.target);
            put_bytes(out, node.stamp);
        }
    }
}

// Version 3 nodes have no stamp.
bool take_node(std::string_view& in, outputs::Node& node, bool stamped) {
    unsigned char kind = 0;
    unsigned char executable = 0;
    if (!take_bytes(in, node.path) || !take(in, kind) || kind < 1 || kind > 3 ||
        !take(in, executable) || executable > 1 || !take(in, node.size) ||
        !take_bytes(in, node.digest) || !take_bytes(in, node.target) ||
        (stamped && !take_bytes(in, node.stamp))) {
        return false;
    }
    node.kind = static_cast<outputs::Kind>(kind);
    node.executable = executable == 1;
    return true;
}

bool take_manifests(std::string_view& in, std::vector<outputs::Manifest>& manifests,
                    bool stamped) {
    std::uint64_t count = 0;
    if (!take(in, count) || count > in.size() / 16) {
        return false;
    }
    manifests.resize(count);
    for (auto& manifest : manifests) {
        std::uint64_t nodes = 0;
        if (!take_bytes(in, manifest.declared) || !take(in, nodes) || nodes > in.size() / 34) {
            return false;
        }
        manifest.nodes.resize(nodes);
        for (auto& node : manifest.nodes) {
            if (!take_node(in, node, stamped)) {
                return false;
            }
        }
    }
    return true;
}

void put_streams_content(std::string& out, const RunRecord& record) {
    put<unsigned char>(out, record.streams_content ? 1 : 0);
    if (record.streams_content) {
        put_bytes(out, *record.streams_content);
        put<std::uint64_t>(out, record.streams_size);
    }
}

bool take_streams_content(std::string_view& in, RunRecord& record) {
    unsigned char kept = 0;
    if (!take(in, kept) || kept > 1) {
        return false;
    }
    if (kept == 1) {
        record.streams_content.emplace();
        return take_bytes(in, *record.streams_content) && take(in, record.streams_size) &&
               record.chunks.empty();
    }
    return true;
}

std::optional<RunRecord> decode_v1(std::string_view bytes) {
    RunRecord record;
    std::string out;
    std::string err;
    if (!take_header(bytes, record) || !take_bytes(bytes, out) || !take_bytes(bytes, err) ||
        !bytes.empty()) {
        return std::nullopt;
    }
    record.append(Stream::out, out);
    record.append(Stream::err, err);
    return record;
}

} // namespace

void RunRecord::append(Stream stream, std::string_view bytes) {
    if (bytes.empty()) {
        return;
    }
    if (!chunks.empty() && chunks.back().stream == stream) {
        chunks.back().bytes.append(bytes);
    } else {
        chunks.push_back({stream, std::string(bytes)});
    }
}

std::string RunRecord::bytes_of(Stream stream) const {
    std::string out;
    for (const auto& chunk : chunks) {
        if (chunk.stream == stream) {
            out += chunk.bytes;
        }
    }
    return out;
}

std::vector<std::string> RunRecord::content_digests() const {
    std::vector<std::string> digests;
    for (const auto& manifest : outputs) {
        for (const auto& node : manifest.nodes) {
            if (node.kind == outputs::Kind::file) {
                digests.push_back(node.digest);
            }
        }
    }
    if (streams_content) {
        digests.push_back(*streams_content);
    }
    std::sort(digests.begin(), digests.end());
    digests.erase(std::unique(digests.begin(), digests.end()), digests.end());
    return digests;
}

std::uint64_t RunRecord::streams_bytes() const {
    std::uint64_t size = streams_size;
    for (const auto& chunk : chunks) {
        size += chunk.bytes.size();
    }
    return size;
}

bool ChunkLogReader::feed(std::string_view piece) {
    while (!m_broken && !piece.empty()) {
        if (m_left == 0) {
            const std::size_t wanted = k_chunk_header - m_header.size();
            m_header.append(piece.substr(0, wanted));
            piece.remove_prefix(std::min(wanted, piece.size()));
            if (m_header.size() < k_chunk_header) {
                return true;
            }
            std::string_view header = m_header;
            unsigned char stream = 0;
            take(header, stream);
            take(header, m_left);
            m_header.clear();
            m_broken = stream != 1 && stream != 2;
            m_stream = static_cast<Stream>(stream);
            continue;
        }
        const auto size = static_cast<std::size_t>(std::min<std::uint64_t>(m_left, piece.size()));
        m_sink(m_stream, piece.substr(0, size));
        piece.remove_prefix(size);
        m_left -= size;
    }
    return !m_broken;
}

void StreamRecorder::append(Stream stream, std::string_view bytes) {
    if (!m_problem.empty()) {
        return; // cannot be kept: the command still runs to its end, and spilled() says why
    }
    if (!m_spool && m_inline_size + bytes.size() <= k_largest_inline_streams) {
        m_inline_size += bytes.size();
        m_record.append(stream, bytes);
        return;
    }
    try {
        spill(stream, bytes);
    } catch (const StoreError& error) {
        m_problem = error.what();
        m_spool.reset();
        m_pending = std::string();
    }
}

void StreamRecorder::spill(Stream stream, std::string_view bytes) {
    if (!m_spool) {
        m_spool = std::make_unique<Spool>(0);
        for (const auto& chunk : m_record.chunks) {
            m_spool->append(chunk_header(chunk.stream, chunk.bytes.size()));
            m_spool->append(chunk.bytes);
        }
        m_record.chunks.clear();
    }
    if (m_pending_stream != stream || m_pending.size() + bytes.size() > k_largest_inline_streams) {
        flush_pending();
    }
    m_pending_stream = stream;
    m_pending.append(bytes);
}

void StreamRecorder::flush_pending() {
    if (!m_pending.empty()) {
        m_spool->append(chunk_header(m_pending_stream, m_pending.size()));
        m_spool->append(m_pending);
        m_pending.clear();
    }
}

Spool* StreamRecorder::spilled() {
    if (!m_problem.empty()) {
        throw StoreError(m_problem);
    }
    if (m_spool) {
        flush_pending();
    }
    return m_spool.get();
}

std::string encode(const RunRecord& record) {
    std::size_t size = k_magic.size() + 28;
    for (const auto& chunk : record.chunks) {
        size += 9 + chunk.bytes.size();
    }
    std::string out;
    out.reserve(size);
    out.append(k_magic);
    put<std::int32_t>(out, record.exit_code);
    put<double>(out, record.duration);
    put<double>(out, record.created_at);
    put<std::uint64_t>(out, record.chunks.size());
    for (const auto& chunk : record.chunks) {
        out.append(chunk_header(chunk.stream, chunk.bytes.size()));
        out.append(chunk.bytes);
    }
    put_manifests(out, record.outputs);
    put_streams_content(out, record);
    return out;
}

std::optional<RunRecord> decode_run_record(std::string_view bytes) {
    const std::string_view magic = bytes.substr(0, k_magic.size());
    bytes.remove_prefix(magic.size());
    if (magic == k_magic_v1) {
        return decode_v1(bytes);
    }
    RunRecord record;
    std::uint64_t count = 0;
    if ((magic != k_magic && magic != k_magic_v3 && magic != k_magic_v2) ||
        !take_header(bytes, record) ||
        !take(bytes, count) || count > bytes.size() / 9) {
        return std::nullopt;
    }
    record.chunks.reserve(count);
    for (std::uint64_t i = 0; i < count; ++i) {
        unsigned char stream = 0;
        Chunk chunk;
        if (!take(bytes, stream) || (stream != 1 && stream != 2) ||
            !take_bytes(bytes, chunk.bytes)) {
            return std::nullopt;
        }
        chunk.stream = static_cast<Stream>(stream);
        record.chunks.push_back(std::move(chunk));
    }
    if (magic != k_magic_v2 && !take_manifests(bytes, record.outputs, magic == k_magic)) {
        return std::nullopt;
    }
    if (magic == k_magic && !take_streams_content(bytes, record)) {
        return std::nullopt;
    }
    if (!bytes.empty()) {
        return std::nullopt;
    }
    return record;
}

} // namespace cacheman
