#include "base/Names.hpp"

#include "base/Error.hpp"

#include <cstdint>
#include <string>

namespace cacheman {

namespace {

// Length of the UTF-8 sequence starting at bytes[i], or 0 when it is malformed.
std::size_t utf8_sequence_length(std::string_view bytes, std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(bytes[k]); };
    const std::uint8_t lead = byte(i);
    if (lead < 0x80) {
        return 1;
    }
    std::size_t length = 0;
    std::uint32_t min = 0;
    std::uint32_t code = 0;
    if ((lead & 0xE0) == 0xC0) {
        length = 2, min = 0x80, code = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
        length = 3, min = 0x800, code = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
        length = 4, min = 0x10000, code = lead & 0x07;
    } else {
        return 0;
    }
    if (i + length > bytes.size()) {
        return 0;
    }
    for (std::size_t k = 1; k < length; ++k) {
        if ((byte(i + k) & 0xC0) != 0x80) {
            return 0;
        }
        code = (code << 6) | (byte(i + k) & 0x3F);
    }
    const bool surrogate = code >= 0xD800 && code <= 0xDFFF;
    return (code < min || code > 0x10FFFF || surrogate) ? 0 : length;
}

std::string quoted(std::string_view text) {
    return "'" + std::string(text) + "'";
}

} // namespace

bool is_valid_utf8(std::string_view bytes) {
    std::size_t i = 0;
    while (i < bytes.size()) {
        // Fast path over ASCII runs: most names, keys and values are plain ASCII.
        if (static_cast<std::uint8_t>(bytes[i]) < 0x80) {
            ++i;
            continue;
        }
        const std::size_t length = utf8_sequence_length(bytes, i);
        if (length == 0) {
            return false;
        }
        i += length;
    }
    return true;
}

void validate_namespace(std::string_view name) {
    if (name.empty()) {
        throw UsageError("invalid namespace: it is empty");
    }
    if (name.size() > 64) {
        throw UsageError("invalid namespace: longer than 64 characters (" +
                         std::string(name.substr(0, 64)) + "...)");
    }
    if (name.front() == '.') {
        throw UsageError("invalid namespace: it starts with '.' (" + quoted(name) + ")");
    }
    for (const char c : name) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok) {
            throw UsageError("invalid namespace: only letters, digits, '.', '_' and '-' are "
                             "allowed (" +
                             quoted(name) + ")");
        }
    }
}

void validate_cache_name(std::string_view name) {
    if (name.empty()) {
        throw UsageError("invalid cache name: it is empty");
    }
    if (name.size() > 255) {
        throw UsageError("invalid cache name: longer than 255 bytes");
    }
    if (!is_valid_utf8(name)) {
        throw UsageError("invalid cache name: not valid UTF-8");
    }
    for (const char c : name) {
        const auto byte = static_cast<std::uint8_t>(c);
        if (byte < 0x20 || byte == 0x7F) {
            throw UsageError("invalid cache name: it contains a control character");
        }
    }
}

void validate_key(std::string_view key) {
    if (key.find('\0') != std::string_view::npos) {
        throw UsageError("invalid key: it contains a NUL byte");
    }
    if (!is_valid_utf8(key)) {
        throw UsageError("invalid key: not valid UTF-8");
    }
}

std::string quoted_for_message(std::string_view name) {
    constexpr std::size_t k_shown = 64;
    std::size_t cut = name.size();
    if (cut > k_shown) {
        cut = k_shown;
        while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) {
            --cut; // not inside a UTF-8 sequence
        }
    }
    // Appended piece by piece: g++ 12 warns (-Wrestrict, a false positive) on '+' chains here.
    std::string out;
    out.reserve(cut + 5);
    out.push_back('\'');
    out.append(name.substr(0, cut));
    if (cut < name.size()) {
        out.append("...");
    }
    out.push_back('\'');
    return out;
}

} // namespace cacheman
