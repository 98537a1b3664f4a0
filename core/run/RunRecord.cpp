#include "run/RunRecord.hpp"

#include <cstdint>
#include <cstring>

namespace cacheman {

namespace {

constexpr std::string_view k_magic_v1{"cacheman-run\x01", 13};
constexpr std::string_view k_magic{"cacheman-run\x02", 13};

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
        put<unsigned char>(out, static_cast<unsigned char>(chunk.stream));
        put<std::uint64_t>(out, chunk.bytes.size());
        out.append(chunk.bytes);
    }
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
    if (magic != k_magic || !take_header(bytes, record) || !take(bytes, count) ||
        count > bytes.size() / 9) {
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
    if (!bytes.empty()) {
        return std::nullopt;
    }
    return record;
}

} // namespace cacheman
