#include "run/RunRecord.hpp"

#include <cstdint>
#include <cstring>

namespace cacheman {

namespace {

constexpr std::string_view k_magic{"cacheman-run\x01", 13};

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

} // namespace

std::string encode(const RunRecord& record) {
    std::string out;
    out.reserve(k_magic.size() + 40 + record.out.size() + record.err.size());
    out.append(k_magic);
    put<std::int32_t>(out, record.exit_code);
    put<double>(out, record.duration);
    put<double>(out, record.created_at);
    put<std::uint64_t>(out, record.out.size());
    out.append(record.out);
    put<std::uint64_t>(out, record.err.size());
    out.append(record.err);
    return out;
}

std::optional<RunRecord> decode_run_record(std::string_view bytes) {
    if (bytes.substr(0, k_magic.size()) != k_magic) {
        return std::nullopt;
    }
    bytes.remove_prefix(k_magic.size());
    RunRecord record;
    std::int32_t code = 0;
    if (!take(bytes, code) || !take(bytes, record.duration) || !take(bytes, record.created_at) ||
        !take_bytes(bytes, record.out) || !take_bytes(bytes, record.err) || !bytes.empty()) {
        return std::nullopt;
    }
    record.exit_code = code;
    return record;
}

} // namespace cacheman
